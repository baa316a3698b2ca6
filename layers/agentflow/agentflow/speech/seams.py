"""Joining chunk transcripts (issue 19): one seam per cut and channel, so no word is lost or doubled.

Each chunk job decodes its span plus :data:`agentflow.speech.transcribe.OVERLAP` on each side
(:func:`agentflow.speech.transcribe.transcribe` with ``start`` / ``end``); :func:`merge_transcripts`
chooses, at each cut, a seam inside the overlap both neighbours decoded, even where the cut falls
inside speech. Pure Python on the serialised transcripts: the fan-in that merges imports neither
whisper nor the audio decoder.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from agentflow.errors import PermanentStageError

if TYPE_CHECKING:
    from agentflow.speech.transcribe import ChunkTranscriptDict, SegmentDict, TranscriptDict, WordDict

# Two decodes of the same word, by the chunks either side of a cut, place it this close (seconds).
_SAME_WORD_SECONDS: Final = 0.5
# A pause this long (seconds, each side of the seam) is clear of both sides' timing differences.
_CLEAR_SECONDS: Final = 0.5


def merge_transcripts(parts: Sequence[ChunkTranscriptDict]) -> TranscriptDict:
    """Join chunk transcripts into the recording's ``transcript.json``.

    Pure and deterministic: the parts are ordered by their spans, which must be contiguous; a part
    given twice counts once. At each cut, per channel, a seam is chosen in the inner half of the
    overlap both neighbours decoded (:func:`_seam`): the left part's words before it, the right
    part's after it, so a word spoken across the cut appears once. A segment that crosses a seam
    keeps only its side's words, its text rebuilt from them.

    The language is the first part's (in time order) that has one, as an unchunked run detects it
    on the first speech; ``duration`` is the recording's (the longest part duration: each part
    carries the recording's when it was given one, and the last part reaches the end).

    Args:
        parts: The chunks' :meth:`Transcript.to_chunk_dict` artefacts, in any order.

    Returns:
        One transcript: words and segments in time order (then channel), segments renumbered.

    Raises:
        PermanentStageError: No parts, or spans that leave a gap or overlap (a plan that can never merge).
    """
    ordered = _ordered(parts)
    channels = max(part["channels"] for part in ordered)
    words: list[WordDict] = []
    segments: list[SegmentDict] = []
    for channel in range(channels):
        lists = [[w for w in part["words"] if w["channel"] == channel] for part in ordered]
        seams = [
            _seam(
                lists[k],
                lists[k + 1],
                cut=ordered[k]["span"]["end"],
                overlap=_overlap(ordered[k], ordered[k + 1]),
            )
            for k in range(len(ordered) - 1)
        ]
        for k, (part, channel_words) in enumerate(zip(ordered, lists, strict=True)):
            lo = seams[k - 1][1] if k > 0 else 0
            hi = seams[k][0] if k < len(seams) else len(channel_words)
            kept = range(lo, max(lo, hi))
            words.extend(channel_words[i] for i in kept)
            segments.extend(_kept_segments(part, channel, channel_words, kept))
    words.sort(key=lambda w: (w["start"], w["channel"]))
    segments.sort(key=lambda s: (s["start"], s["channel"]))
    first = next((part for part in ordered if part["language"] is not None), None)
    merged: TranscriptDict = {
        "language": first["language"] if first else None,
        "language_probability": first["language_probability"] if first else 0.0,
        "duration": max(part["duration"] for part in ordered),
        "channels": channels,
        "model": ordered[0]["model"],
        "segments": [
            {"id": index, "start": s["start"], "end": s["end"], "text": s["text"], "channel": s["channel"]}
            for index, s in enumerate(segments)
        ],
        "words": words,
    }
    return merged


def _ordered(parts: Sequence[ChunkTranscriptDict]) -> list[ChunkTranscriptDict]:
    """The parts in time order, each once; refuses gaps and overlaps between spans."""
    if not parts:
        raise PermanentStageError("no chunk transcripts to merge")
    ordered: list[ChunkTranscriptDict] = []
    for part in sorted(parts, key=lambda p: (p["span"]["start"], p["span"]["end"])):
        if ordered and part == ordered[-1]:
            continue  # the same chunk twice (a redelivered job)
        if ordered and abs(part["span"]["start"] - ordered[-1]["span"]["end"]) > 0.001:
            previous = ordered[-1]["span"]
            raise PermanentStageError(
                f"chunk spans are not contiguous: {previous['start']}-{previous['end']} s"
                f" then {part['span']['start']}-{part['span']['end']} s"
            )
        ordered.append(part)
    if ordered[0]["span"]["start"] > 0.001:
        raise PermanentStageError(f"the first chunk starts at {ordered[0]['span']['start']} s, not 0")
    return ordered


def _overlap(left: ChunkTranscriptDict, right: ChunkTranscriptDict) -> tuple[float, float]:
    """The seconds both neighbours decoded: from the right's read start to the left's read end."""
    cut = left["span"]["end"]
    return min(right["span"]["read_start"], cut), max(left["span"]["read_end"], cut)


def _seam(
    left: Sequence[WordDict], right: Sequence[WordDict], *, cut: float, overlap: tuple[float, float]
) -> tuple[int, int]:
    """Where one channel's words pass from the left chunk to the right one at ``cut``.

    The seam lies in the inner half of the overlap (the outer parts are each chunk's own edge,
    where whisper hears words cut off). First choice: right after a word both sides heard (same
    word, about the same time; see :func:`_anchors`), preferably one followed by another such
    word, nearest the cut: everything before it is the left's, after it the right's, so even in
    unbroken speech, and whatever the two disagree on elsewhere, no word is lost or doubled there.
    Without such a word, a pause in both sides' words nearest the cut (the widest, up to
    :data:`_CLEAR_SECONDS` each side); without a pause, the cut itself, each word going to the
    side its middle falls on.

    Returns:
        ``(i, j)``: the left keeps its words ``[:i]``, the right its words ``[j:]``.
    """
    lo, hi = overlap
    zone = (cut - (cut - lo) / 2, cut + (hi - cut) / 2)
    anchors = _anchors(left, right, lo, hi)
    matched = set(anchors)
    inside = [(i, j) for i, j in anchors if zone[0] <= left[i]["end"] <= zone[1]]
    if inside:
        i, j = min(
            inside, key=lambda a: ((a[0] + 1, a[1] + 1) not in matched, abs(left[a[0]]["end"] - cut), a)
        )
        return i + 1, j + 1
    at = _pause(left, right, cut=cut, zone=zone)
    return _before(left, at), _before(right, at)


def _anchors(
    left: Sequence[WordDict], right: Sequence[WordDict], lo: float, hi: float
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of one word heard by both sides in ``lo``–``hi``: the longest common
    subsequence of the two word lists there, words matching when their text is the same and
    their starts are within :data:`_SAME_WORD_SECONDS`."""
    li = [i for i, w in enumerate(left) if lo <= _middle(w) <= hi]
    ri = [j for j, w in enumerate(right) if lo <= _middle(w) <= hi]
    lt, rt = [_token(left[i]) for i in li], [_token(right[j]) for j in ri]

    def same(a: int, b: int) -> bool:
        return (
            bool(lt[a])
            and lt[a] == rt[b]
            and abs(left[li[a]]["start"] - right[ri[b]]["start"]) <= _SAME_WORD_SECONDS
        )

    n, m = len(li), len(ri)
    table = [[0] * (m + 1) for _ in range(n + 1)]  # table[a][b]: LCS of lt[a:] and rt[b:]
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            table[a][b] = table[a + 1][b + 1] + 1 if same(a, b) else max(table[a + 1][b], table[a][b + 1])
    pairs: list[tuple[int, int]] = []
    a = b = 0
    while a < n and b < m:
        if same(a, b) and table[a][b] == table[a + 1][b + 1] + 1:
            pairs.append((li[a], ri[b]))
            a, b = a + 1, b + 1
        elif table[a + 1][b] >= table[a][b + 1]:
            a += 1
        else:
            b += 1
    return pairs


def _pause(
    left: Sequence[WordDict], right: Sequence[WordDict], *, cut: float, zone: tuple[float, float]
) -> float:
    """The time in ``zone`` farthest (up to :data:`_CLEAR_SECONDS`) from both sides' words, nearest ``cut``."""
    busy = sorted((w["start"], w["end"]) for w in (*left, *right))
    candidates = {cut, *zone}
    reach = float("-inf")
    for begin, finish in busy:
        if begin > reach > float("-inf"):  # a gap in both sides' words: try its middle
            candidates.add(min(max((reach + begin) / 2, zone[0]), zone[1]))
        reach = max(reach, finish)

    def clearance(t: float) -> float:
        return min(min((max(b - t, t - f, 0.0) for b, f in busy), default=_CLEAR_SECONDS), _CLEAR_SECONDS)

    return min(
        (t for t in candidates if zone[0] <= t <= zone[1]), key=lambda t: (-clearance(t), abs(t - cut), t)
    )


def _before(words: Sequence[WordDict], at: float) -> int:
    """How many leading words have their middle before ``at``."""
    return next((i for i, w in enumerate(words) if _middle(w) >= at), len(words))


def _middle(word: WordDict) -> float:
    return (word["start"] + word["end"]) / 2


def _token(word: WordDict) -> str:
    return re.sub(r"[^\w']+", "", word["word"].lower()).strip("'")


def _kept_segments(
    part: ChunkTranscriptDict, channel: int, words: Sequence[WordDict], kept: range
) -> list[SegmentDict]:
    """The part's segments on ``channel`` that hold kept words; one that holds some kept and some
    dropped keeps only the kept ones (its start, end and text rebuilt from them).

    A word belongs to the last segment starting at or before it (whisper starts a segment at its
    first word). A segment without words stays if it starts inside the part's own span.
    """
    segments = [s for s in part["segments"] if s["channel"] == channel]
    starts = [s["start"] for s in segments]
    members: list[list[int]] = [[] for _ in segments]
    for index, word in enumerate(words):
        at = bisect.bisect_right(starts, word["start"]) - 1
        if at >= 0:
            members[at].append(index)
    out: list[SegmentDict] = []
    for segment, indices in zip(segments, members, strict=True):
        own = [words[i] for i in indices if i in kept]
        if not indices:
            if part["span"]["start"] <= segment["start"] < part["span"]["end"]:
                out.append(segment)
        elif len(own) == len(indices):
            out.append(segment)
        elif own:
            text = " ".join(w["word"] for w in own)
            end = max(w["end"] for w in own)
            out.append({"id": 0, "start": own[0]["start"], "end": end, "text": text, "channel": channel})
    return out
