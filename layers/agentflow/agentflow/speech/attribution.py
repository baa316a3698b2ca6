"""Words → speakers → utterances, for the summary stage.

Utterances follow the speech:

* **Words are clipped to speech.** Whisper's word timestamps come from a cross-attention alignment
  that often stretches the first word after a pause back over the silence (a held-out meeting clip
  had a six-word utterance spanning 19 s). Where the diarization says nobody speaks, no word extends:
  a word is cut to the speech region holding most of it.
* **A word goes to the turn that holds it**: the exclusive (one speaker at a time) turn overlapping
  it most, else the nearest turn; it is then cut to that speaker's own speech, so that a word
  straddling a change of speaker does not carry its utterance into the other speaker's turn.
* **An utterance ends at a speaker change or at a pause**: where its speaker is silent (by the
  diarization) for longer than :data:`PAUSE_SECONDS`.
* **An utterance spans its speaker's speech**, not only its words: whisper writes no word for a
  hesitation or a word it could not make out, yet the speaker is talking there. It reaches beyond
  its first and last words only as far as a voice is heard from them on, without a pause longer than
  :data:`PAUSE_SECONDS` (Silero VAD's voice activity, when the diarization carries it):
  segmentation-3.0's speech runs on over pauses at a change of speaker (dev01: "The username." began
  0.7 s before its first word, inside a 1.1 s silence).

Raw labels become participant names when ``names`` covers them, else ``Speaker 1``, ``Speaker 2``, …
in order of first appearance.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

# An utterance ends where its speaker is silent for longer than this (seconds). Measured on sample,
# dev00 and dev01 together (utterance-level DER for 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0 s and none,
# docs/DIARIZATION.md): DER is flat from 0.5 to 2.0 s (sample 9.6 %, dev00 17.4 %, dev01 32.7 %);
# without any pause rule dev01 rises to 48.6 %. Within that flat range, one second is the usual
# bound between a within-speaker pause and a gap in conversation analysis (Heldner & Edlund 2010,
# "Pauses, gaps and overlaps in conversations": most pauses inside a turn are shorter).
PAUSE_SECONDS: Final = 1.0


@dataclass(frozen=True)
class Utterance:
    """Consecutive words of one speaker, without a long pause inside."""

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


def speech_regions(turns: Iterable[dict[str, Any]], *, bridge: float = 0.0) -> list[tuple[float, float]]:
    """The union of the turns' spans: where someone speaks, as sorted disjoint (start, end) pairs;
    gaps of at most ``bridge`` seconds between them are closed."""
    spans = sorted((float(t["start"]), float(t["end"])) for t in turns if float(t["end"]) > float(t["start"]))
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + bridge:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip_to_speech(
    start: float, end: float, regions: Sequence[tuple[float, float]], ends: Sequence[float] | None = None
) -> tuple[float, float]:
    """Cut [start, end] to the speech region that holds most of it.

    Args:
        start: word start, seconds.
        end: word end, seconds.
        regions: sorted disjoint speech regions (:func:`speech_regions`).
        ends: the regions' ends, when the caller clips many words (saves rebuilding it per word).

    Returns:
        The clipped span; the word unchanged when no region overlaps it (speech the diarization
        missed: the word is the better evidence there).
    """
    # The first region that ends after the word starts; regions are disjoint, so ends are sorted.
    first = bisect.bisect_right(ends if ends is not None else [r[1] for r in regions], start)
    best: tuple[float, float] | None = None
    overlap = 0.0
    for r_start, r_end in regions[first:]:
        if r_start >= end:
            break
        shared = min(end, r_end) - max(start, r_start)
        if shared > overlap:
            best, overlap = (max(start, r_start), min(end, r_end)), shared
    return best if best is not None else (start, end)


def _join(words: list[str]) -> str:
    # Whisper words carry their leading space (" hello"); hand-made ones may not.
    text = "".join(word if word[:1].isspace() else f" {word}" for word in words)
    return " ".join(text.split())


def _silence_within(start: float, end: float, regions: Sequence[tuple[float, float]]) -> float:
    """The longest stretch of [start, end] that ``regions`` (sorted, disjoint) leave uncovered."""
    longest, cursor = 0.0, start
    for r_start, r_end in regions:
        if r_end <= cursor:
            continue
        if r_start >= end:
            break
        longest = max(longest, r_start - cursor)
        cursor = max(cursor, r_end)
    return max(longest, end - cursor)


def _voiced_from(moment: float, voiced: Sequence[tuple[float, float]] | None, direction: int) -> float:
    """How far from ``moment`` (backwards for -1, forwards for +1) a voice is heard without a break:
    the edge of the voiced stretch holding it; ``moment`` itself when none does; unbounded when
    ``voiced`` is None (not measured)."""
    if voiced is None:
        return direction * float("inf")
    held = _holding(moment, moment, voiced)
    if held is None:
        return moment
    return held[0] if direction < 0 else held[1]


def _holding(start: float, end: float, regions: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The region of ``regions`` that overlaps [start, end] most (None when none does)."""
    best, overlap = None, 0.0
    for region in regions:
        shared = min(end, region[1]) - max(start, region[0])
        if shared > overlap or (best is None and shared == 0 and region[0] <= start <= region[1]):
            best, overlap = region, shared
    return best


def attribute(
    words: list[dict[str, Any]],
    turns: list[dict[str, Any]],
    *,
    names: dict[str, str] | None = None,
    speech: list[dict[str, Any]] | None = None,
    pause: float = PAUSE_SECONDS,
    voice: list[dict[str, Any]] | None = None,
) -> list[Utterance]:
    """Group transcript words into speaker-attributed utterances that follow the speech.

    Args:
        words: ``{"start", "end", "word", …}`` transcript words (``probability`` and ``channel`` are
            carried by the transcript but not needed here).
        turns: diarization turns ``{"start", "end", "speaker"}`` that decide who said a word; pass
            the exclusive (overlap-free) view where there is one.
        names: raw speaker label → participant name; labels it does not cover, or all labels when
            it is None, become ``Speaker 1``, ``Speaker 2``, … in order of first appearance.
        speech: where each speaker speaks (the overlapping view, same labels); default ``turns``.
            Words are clipped to its union; an utterance spans its speaker's speech around its words
            (speech whisper heard but wrote no word for is still that speaker talking), and ends
            where its speaker is silent for longer than ``pause``.
        pause: seconds of the speaker's silence that end an utterance.
        voice: ``{"start", "end"}`` stretches where a voice is heard (the diarization's ``voice``);
            an utterance reaches beyond its first and last words to its speaker's speech only as
            far as a voice is heard from them on without a pause longer than ``pause``. None: as far
            as its speaker's speech.

    Returns:
        Utterances in time order, ids ``u1``, ``u2``, …; empty when there are no words. Without
        turns every word goes to one unknown speaker (``Speaker 1``), split at pauses between words.
    """
    speech_turns = speech if speech is not None else turns
    regions = speech_regions(speech_turns)
    # A voice's pauses up to ``pause`` are still that voice talking, as they are inside an utterance.
    voiced = speech_regions(voice, bridge=pause) if voice is not None else None
    ends = [r[1] for r in regions]
    own = {
        label: speech_regions(t for t in speech_turns if str(t["speaker"]) == label)
        for label in {str(t["speaker"]) for t in speech_turns}
    }

    clipped: list[tuple[float, float, str]] = []
    for word in words:
        start, end = float(word["start"]), float(word["end"])
        if regions:
            start, end = clip_to_speech(start, end, regions, ends)
        clipped.append((start, end, str(word["word"])))
    clipped.sort(key=lambda item: (item[0], item[1]))
    labelled = [(w, speaker_of(w[0], w[1], turns) or "unknown") for w in clipped]
    # Then each word is cut to its own speaker's speech: a word that straddles a change of speaker
    # otherwise stretches its utterance over the other speaker's turn, and two people talk at once
    # where the diarization says one does (dev00: utterance DER 15.0 % -> 12.0 %).
    own_ends = {label: [r[1] for r in regions_of] for label, regions_of in own.items()}
    labelled = sorted(
        (
            ((*clip_to_speech(w[0], w[1], own[label], own_ends[label]), w[2]) if own.get(label) else w, label)
            for w, label in labelled
        ),
        key=lambda item: (item[0][0], item[0][1]),
    )

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

    groups: list[tuple[str, list[tuple[float, float, str]]]] = []
    for item, label in labelled:
        if groups and groups[-1][0] == label:
            last = max(w[1] for w in groups[-1][1])
            # Silence of this speaker between the two words: the gap, less their own speech in it.
            silent = _silence_within(last, item[0], own.get(label, [])) if item[0] > last else 0.0
            if silent <= pause:
                groups[-1][1].append(item)
                continue
        groups.append((label, [item]))

    utterances: list[Utterance] = []
    for label, group in groups:
        start, end = group[0][0], max(w[1] for w in group)
        regions_of = own.get(label, [])
        # Widen to the speaker's speech around the first and last words, while a voice is heard.
        first = _holding(group[0][0], group[0][1], regions_of)
        if first is not None:
            start = min(start, max(first[0], _voiced_from(start, voiced, -1)))
        final = _holding(group[-1][0], group[-1][1], regions_of)
        if final is not None:
            end = max(end, min(final[1], _voiced_from(end, voiced, +1)))
        utterances.append(
            Utterance(
                id=f"u{len(utterances) + 1}",
                speaker=display[label],
                start=start,
                end=end,
                text=_join([w[2] for w in group]),
            )
        )
    return utterances
