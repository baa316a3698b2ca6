"""Scoring against references, for the tests and the benchmarks (not shipped in the Lambda layer).

- Diarization: :func:`read_rttm` and :func:`diarization_error_rate` (pyannote.metrics, no collar).
- Transcripts: :func:`normalize_words`, :func:`word_error_rate` and :func:`cp_word_error_rate`
  (who said what, CHiME-6's cpWER).

Benchmarks import it as ``evaluation`` (``benchmarks/`` is a script's ``sys.path[0]``), tests as
``benchmarks.evaluation``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from agentflow.speech.diarization import Turn
from pyannote.core import Annotation


def read_rttm(path: Path) -> dict[str, list[Turn]]:
    """Reference turns by file id from an RTTM file (``SPEAKER <uri> 1 <start> <duration> … <speaker> …``)."""
    references: dict[str, list[Turn]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            references.setdefault(fields[1], []).append(Turn(start, start + length, fields[7]))
    return references


def diarization_error_rate(reference: list[Turn], hypothesis: list[Turn], *, duration: float) -> float:
    """DER of ``hypothesis`` against ``reference`` (pyannote.metrics, no collar, overlap scored).

    Args:
        reference: the true turns.
        hypothesis: turns to score (e.g. ``Diarization.turns``).
        duration: seconds of audio; the evaluated region is [0, duration].

    Returns:
        (false alarm + missed speech + speaker confusion) / total reference speech.
    """
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: list[Turn]) -> Annotation:
        result = Annotation()
        for index, turn in enumerate(turns):
            result[Segment(turn.start, turn.end), index] = turn.speaker
        return result

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    uem = Timeline([Segment(0.0, duration)])
    return float(metric(annotation(reference), annotation(hypothesis), uem=uem))


def normalize_words(text: str) -> list[str]:
    """The words of ``text`` as Whisper's English normalizer writes them, for comparing transcripts.

    OpenAI Whisper's ``EnglishTextNormalizer`` (the normalizer behind Whisper's published WERs; the
    copy in transformers), applied to reference and hypothesis alike: lower case, no punctuation or
    bracketed text, fillers dropped (uh, um, hmm), contractions expanded ("isn't" → "is not",
    "I'm" → "i am"), titles spelled out ("Dr." → "doctor"), numbers as digits ("five hundred
    dollars" and "$500" → "$500", "first" → "1st"). Without its British → American spelling table
    (english.json, which transformers does not ship).

    Args:
        text: Any transcript text.

    Returns:
        The words, e.g. ``"Ask not, it's 2 times!"`` → ``["ask", "not", "it", "is", "2", "times"]``.
    """
    return _english_normalizer()(text).split()


@functools.cache
def _english_normalizer() -> Callable[[str], str]:
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    normalizer: Callable[[str], str] = EnglishTextNormalizer({})
    return normalizer


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Word error rate: Levenshtein distance over words / reference length."""
    return _word_errors(reference, hypothesis) / max(len(reference), 1)


def _word_errors(reference: list[str], hypothesis: list[str]) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        prev, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ref != hyp))
    return row[-1]


def cp_word_error_rate(reference: dict[str, list[str]], hypothesis: dict[str, list[str]]) -> float:
    """Concatenated minimum-permutation WER (cpWER, CHiME-6): who said what, scored together.

    Each speaker's words are concatenated in time order; hypothesis speakers are matched one-to-one
    to reference speakers in the way that gives the fewest errors (unmatched speakers on either side
    score against nothing), and the errors are divided by all reference words.

    Args:
        reference: speaker → words, in time order.
        hypothesis: speaker → words, in time order.

    Returns:
        cpWER; equal to the plain WER only when every word went to the right speaker.
    """
    from itertools import permutations

    refs, hyps = list(reference.values()), list(hypothesis.values())
    size = max(len(refs), len(hyps))
    refs += [[]] * (size - len(refs))
    hyps += [[]] * (size - len(hyps))
    # Exhaustive over permutations: meetings here have two or three speakers.
    best = min(
        sum(_word_errors(refs[i], hyps[j]) for i, j in enumerate(order))
        for order in permutations(range(size))
    )
    return best / max(sum(len(words) for words in refs), 1)
