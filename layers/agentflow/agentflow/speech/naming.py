"""Name the diarized speakers of a mixed two-party recording after the session's participants.

A one-microphone recording gives anonymous clusters (``Speaker 1``, ``Speaker 2``); the session knows
who the host and the client are. What the conversation says links the two:

* a **self-introduction** names the speaker: "I'm Grace", "this is Grace", "my name is Grace",
  "Grace here" (strong evidence, weight :data:`INTRO_WEIGHT`);
* **any other mention** of a participant's name, in a two-party call, is one speaker addressing or
  speaking of the other: "thanks, Grace", "Hi Tom", "Maria will send it" (weight 1 for the other
  speaker being that participant).

Names are matched on the participant's full name and on each of its words that is unique to one
participant (first names, surnames), ignoring abbreviated titles ("Dr.", "Mr."): nothing here is a
list of words tuned to particular meetings. With two speakers and two participants there are two
possible assignments; each cue supports one. The confidence is the rule-of-succession estimate
(support + 1) / (all cues + 2), so that a single address ("Hi Tom", 0.67) is not enough but a
self-introduction (0.75) or two consistent addresses (0.75) are. Below :data:`MIN_CONFIDENCE` the
speakers keep their numbers and are recorded as named ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

Method = Literal["channel", "conversation", "unknown"]

INTRO_WEIGHT: Final = 2.0
# See the module docstring: one address alone (2/3) stays below, a self-introduction or two
# consistent addresses (3/4) reach it.
MIN_CONFIDENCE: Final = 0.7

# The frames of a self-introduction that precede a name ("i'm", "i am", "this is", "my name is",
# "my name's", "it's", "call me"), allowing one abbreviated title between ("I'm Dr. Chen").
_BEFORE = r"(?:\bi'm|\bi am|\bthis is|\bmy name is|\bmy name's|\bit's|\bcall me)\s+(?:\w+\.\s+)?$"
# ... and the one that follows it ("Grace here").
_AFTER = r"^\s+here\b"


@dataclass(frozen=True)
class SpeakerName:
    """What one diarized speaker is called and why."""

    label: str  # the raw label ("Speaker 1")
    name: str  # a participant's name, or the raw label when unnamed
    role: str | None  # "host" / "client" when named
    method: Method
    confidence: float | None  # of the chosen assignment; None when there was no cue at all

    def participant(self) -> dict[str, Any]:
        """The participant entry the summary workflow takes (``name``, ``role``, naming fields)."""
        return {
            "name": self.name,
            "role": self.role,
            "naming": self.method,
            "naming_confidence": None if self.confidence is None else round(self.confidence, 3),
        }


def name_keys(participants: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Lower-case full names and name words unique to one participant → that participant's name."""
    words_of: dict[str, list[str]] = {}
    for participant in participants:
        name = str(participant["name"])
        words = [w.strip(",;:'\"()") for w in name.split()]
        # An abbreviated title ("Dr.", "Mr.") and single letters name nobody.
        words_of[name] = [w.lower() for w in words if len(w.rstrip(".")) >= 2 and not w.endswith(".")]
    counts: dict[str, int] = {}
    for words in words_of.values():
        for word in set(words):
            counts[word] = counts.get(word, 0) + 1
    keys: dict[str, str] = {}
    for name, words in words_of.items():
        if words:
            keys[" ".join(words)] = name
        for word in words:
            if counts[word] == 1:
                keys[word] = name
    return keys


def _cues(text: str, keys: Mapping[str, str]) -> list[tuple[str, bool]]:
    """(participant name, is a self-introduction) for each name mentioned in ``text``."""
    lowered = text.lower().replace("’", "'")
    found: list[tuple[int, int, str]] = []
    # Longest keys first, so "grace hopper" is one mention, not also "grace" and "hopper".
    for key in sorted(keys, key=len, reverse=True):
        for match in re.finditer(rf"\b{re.escape(key)}\b", lowered):
            if any(match.start() < end and start < match.end() for start, end, _ in found):
                continue
            found.append((match.start(), match.end(), keys[key]))
    cues = []
    for start, end, name in sorted(found):
        intro = bool(re.search(_BEFORE, lowered[:start]) or re.search(_AFTER, lowered[end:]))
        cues.append((name, intro))
    return cues


def name_speakers(
    utterances: Sequence[Mapping[str, Any]], *, host: str, client: str
) -> dict[str, SpeakerName]:
    """Map the raw speaker labels of ``utterances`` to the host and the client, where the talk says so.

    Args:
        utterances: ``{"speaker", "text", …}`` with raw labels (``Speaker 1``, ``Speaker 2``).
        host: the host's name.
        client: the client's name.

    Returns:
        Raw label → :class:`SpeakerName` for every label in ``utterances``. Named (method
        ``conversation``) only when there are one or two speakers and the confidence reaches
        :data:`MIN_CONFIDENCE`; otherwise each label keeps its own name (method ``unknown``).
    """
    labels = list(dict.fromkeys(str(u["speaker"]) for u in utterances))
    roles = {host: "host", client: "client"}
    keys = name_keys([{"name": host}, {"name": client}])
    unknown = {label: SpeakerName(label, label, None, "unknown", None) for label in labels}
    if not labels or len(labels) > 2 or host == client:
        # More than two voices: a name said aloud no longer tells which of the others it is.
        return unknown
    other = {host: client, client: host}
    # assignments[i] maps each label to a participant; each cue adds to the assignment it supports.
    assignments = [
        dict(zip(labels, (host, client), strict=False)),
        dict(zip(labels, (client, host), strict=False)),
    ]
    support = [0.0, 0.0]
    for utterance in utterances:
        speaker = str(utterance["speaker"])
        for name, intro in _cues(str(utterance.get("text", "")), keys):
            who, weight = (name, INTRO_WEIGHT) if intro else (other[name], 1.0)
            for index, assignment in enumerate(assignments):
                if assignment[speaker] == who:
                    support[index] += weight
    total = sum(support)
    if total == 0:
        return unknown
    best = 0 if support[0] >= support[1] else 1
    confidence = (support[best] + 1.0) / (total + 2.0)
    if confidence < MIN_CONFIDENCE or support[0] == support[1]:
        return {label: SpeakerName(label, label, None, "unknown", confidence) for label in labels}
    return {
        label: SpeakerName(label, name, roles[name], "conversation", confidence)
        for label, name in assignments[best].items()
    }


def name_utterances(
    utterances: list[dict[str, Any]], *, host: str, client: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rename the speakers of mixed-recording utterances (in place) and list the participants.

    Args:
        utterances: ``{"speaker", "text", …}`` dicts with raw labels; their ``speaker`` is replaced.
        host: the session host's name.
        client: the session client's name.

    Returns:
        The utterances and one participant entry per speaker (``name``, ``role``, ``naming``,
        ``naming_confidence``): the host first, then the client, then unnamed speakers in order.
    """
    names = name_speakers(utterances, host=host, client=client)
    for utterance in utterances:
        utterance["speaker"] = names[str(utterance["speaker"])].name
    order = {"host": 0, "client": 1}
    ranked = sorted(names.values(), key=lambda n: order.get(n.role or "", 2))
    return utterances, [n.participant() for n in ranked]
