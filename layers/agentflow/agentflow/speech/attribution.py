"""Words → speakers → utterances, for the summary stage.

Each transcript word goes to the speaker whose turn overlaps it most (the nearest turn when none
overlaps it); consecutive words of one speaker form an utterance. Raw labels become participant
names when the session provides them (per-channel mode), else ``Speaker 1``, ``Speaker 2``, … in
order of first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Utterance:
    """Consecutive words of one speaker."""

    id: str  # "u1", "u2", … in time order
    speaker: str
    start: float  # seconds
    end: float  # seconds
    text: str

    def to_dict(self) -> dict[str, Any]:
        """Serialise with times rounded to milliseconds."""
        return {
            "id": self.id,
            "speaker": self.speaker,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
        }


def speaker_of(start: float, end: float, turns: list[dict[str, Any]]) -> str | None:
    """The label of the turn that overlaps [start, end] most, else of the nearest turn.

    Ties in overlap go to the earlier turn; ties in distance to the turn that ends before the word.

    Args:
        start: word start, seconds.
        end: word end, seconds.
        turns: ``{"start", "end", "speaker"}`` dicts, in any order.

    Returns:
        A speaker label, or None when there are no turns.
    """
    best: tuple[float, float, float] | None = None
    label: str | None = None
    for turn in turns:
        t_start, t_end = float(turn["start"]), float(turn["end"])
        overlap = min(end, t_end) - max(start, t_start)
        distance = max(t_start - end, start - t_end, 0.0)
        # Larger is better: overlap first, then closeness, then earlier start.
        key = (max(overlap, 0.0), -distance, -t_start)
        if best is None or key > best:
            best, label = key, str(turn["speaker"])
    return label


def _join(words: list[str]) -> str:
    # Whisper words carry their leading space (" hello"); hand-made ones may not.
    text = "".join(word if word[:1].isspace() else f" {word}" for word in words)
    return " ".join(text.split())


def attribute(
    words: list[dict[str, Any]],
    turns: list[dict[str, Any]],
    *,
    names: dict[str, str] | None = None,
) -> list[Utterance]:
    """Group transcript words into speaker-attributed utterances.

    Args:
        words: ``{"start", "end", "word", …}`` transcript words (``probability`` and ``channel`` are
            carried by the transcript but not needed here).
        turns: diarization turns ``{"start", "end", "speaker"}`` (overlapping or exclusive).
        names: raw speaker label → participant name; labels it does not cover, or all labels when
            it is None, become ``Speaker 1``, ``Speaker 2``, … in order of first appearance.

    Returns:
        Utterances in time order, ids ``u1``, ``u2``, …; empty when there are no words. Without
        turns every word goes to one unknown speaker (``Speaker 1``).
    """
    ordered = sorted(words, key=lambda word: (float(word["start"]), float(word["end"])))
    labelled: list[tuple[dict[str, Any], str]] = []
    for word in ordered:
        label = speaker_of(float(word["start"]), float(word["end"]), turns)
        labelled.append((word, label if label is not None else "unknown"))

    display: dict[str, str] = {}
    unnamed = 0
    for _, label in labelled:
        if label in display:
            continue
        if names and label in names:
            display[label] = names[label]
        else:
            unnamed += 1
            display[label] = f"Speaker {unnamed}"

    utterances: list[Utterance] = []
    group: list[dict[str, Any]] = []
    current: str | None = None
    for word, label in [*labelled, ({}, "")]:
        if group and label != current:
            utterances.append(
                Utterance(
                    id=f"u{len(utterances) + 1}",
                    speaker=display[current or ""],
                    start=float(group[0]["start"]),
                    end=max(float(w["end"]) for w in group),
                    text=_join([str(w["word"]) for w in group]),
                )
            )
            group = []
        if word:
            group.append(word)
            current = label
    return utterances
