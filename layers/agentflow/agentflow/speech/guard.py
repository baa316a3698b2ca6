"""Whether a clip's batched decoding is one whisper would accept, or must be decoded again; and
whether a decoded segment is a hallucination to drop.

Faster-whisper's ``BatchedInferencePipeline`` decodes at temperature 0 without the fallbacks of
its sequential path; :func:`clip_check` applies those fallbacks' tests itself, plus one for a loop
too short for gzip to see, so that :class:`agentflow.speech.decoding.Decoder` decodes a refused
clip again on the sequential path. :func:`hallucinated` is whisper's own word-anomaly test, for
text written over sound that is not speech. Pure Python on the decoded segments, no audio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from faster_whisper.transcribe import get_compression_ratio

# What whisper's anomaly test leaves out of a segment's words (openai/whisper's ``punctuation``).
_PUNCTUATION: Final = "\"'“¿([{-\"'.。,，!！?？:：”)]}、 "

# A batched clip whose words hold a phrase said this many times back to back, over at least this
# many words, is taken for a decoder loop (:func:`repeats_itself`). Chosen before measuring, from
# what loops look like; a clip wrongly taken for one is only decoded again (sequential path).
_LOOP_REPEATS: Final = 3
_LOOP_WORDS: Final = 6
# Seconds of a clip's speech after its last word beyond which the decoding stopped early: a piece
# of speech ends 0.4 s (the VAD's padding) after its last sound, and whisper's last word may end a
# little before that sound does. Chosen before measuring, as the loop's settings above; a clip wrongly
# refused is only decoded again.
_UNHEARD_TAIL: Final = 2.0
# openai/whisper's word anomaly score (transcribe.py, ``hallucination_silence_threshold``; the same
# in faster-whisper): a word scores 1 below this probability, more the shorter it is than
# _SHORT_WORD, and by how much it is longer than _LONG_WORD (seconds).
_UNLIKELY_WORD: Final = 0.15
_SHORT_WORD: Final = 0.133
_LONG_WORD: Final = 2.0


def clip_check(
    segments: Sequence[Any], thresholds: Mapping[str, Any], *, end: float | None = None
) -> str | None:
    """Why one clip's batched decoding should not be kept; ``None`` when it should.

    First the tests faster-whisper's sequential path applies to every window before it falls back
    to a higher temperature (openai/whisper's ``decode_with_fallback``), with the thresholds of
    ``thresholds`` (``agentflow.speech.transcribe.DECODE_OPTIONS``): a repetition loop compresses
    well (gzip ratio over 2.4), a garbled decode has a low mean log-probability, and a window the
    model takes for silence (high no-speech probability *and* low log-probability) is one the
    sequential path drops. The batched pipeline computes these figures but acts on none of them.
    Then a loop too short for gzip to see (:func:`repeats_itself`): base decoding reversed speech
    in one batched clip gave "He's there." five times at a compression ratio of 2.29. A clip
    refused here is decoded again on the sequential path, which decides as the stage always has;
    so a refusal costs one encoder pass, never accuracy against the sequential stage. Nothing here
    depends on what was said.

    Last, with ``end`` (the clip's end, in the segments' time): a decoding that stops early. A clip
    is speech the VAD kept, pauses of 2 s or more cut out, so more than :data:`_UNHEARD_TAIL` of it
    after the last word is speech whisper did not write; without timestamps the batched decoder has
    no way to go on after an early end-of-text, where the sequential path seeks to its last
    timestamp and decodes the rest. With the participants' names as hotwords, 4 clips of 24 on 12
    minutes of AMI speech ended ~17 s early (24 words of ~60 each).
    """
    if not segments:
        return None  # a clip the pipeline gave no segment for: nothing to accept or refuse
    text = "".join(segment.text for segment in segments)
    # The pipeline gives every segment of a clip the clip's log-probability and no-speech figures.
    logprob, no_speech = float(segments[0].avg_logprob), float(segments[0].no_speech_prob)
    if no_speech > thresholds["no_speech_threshold"] and logprob < thresholds["log_prob_threshold"]:
        return f"silence? no-speech probability {no_speech:.2f}, mean log-probability {logprob:.2f}"
    ratio = get_compression_ratio(text)
    if ratio > thresholds["compression_ratio_threshold"]:
        return f"repetitive: compression ratio {ratio:.2f}"
    if logprob < thresholds["log_prob_threshold"]:
        return f"unlikely: mean log-probability {logprob:.2f}"
    if repeats_itself(text):
        return "a phrase repeated back to back"
    words = [word for segment in segments for word in segment.words or ()]
    if end is not None and words:
        unheard = end - max(float(word.end) for word in words)
        if unheard > _UNHEARD_TAIL:
            return f"stopped early: {unheard:.1f} s of speech after its last word"
    return None


def repeats_itself(text: str, *, times: int = _LOOP_REPEATS, words: int = _LOOP_WORDS) -> bool:
    """Whether some phrase occurs at least ``times`` times back to back over at least ``words`` words.

    "yeah yeah yeah" is speech; "he's there he's there he's there" and six "you"s in a row are
    whisper's decoder loop. Words are compared lower-cased, without punctuation.
    """
    tokens = re.findall(r"[\w']+", text.lower())
    for period in range(1, len(tokens) // times + 1):
        run = 0  # consecutive positions i with tokens[i] == tokens[i + period]
        for i in range(len(tokens) - period):
            run = run + 1 if tokens[i] == tokens[i + period] else 0
            # tokens[i - run + 1 : i + period + 1] has period ``period``: (run + period) // period copies
            if run + period >= words and (run + period) // period >= times:
                return True
    return False


def word_anomaly(word: Any) -> float:
    """openai/whisper's anomaly score of one decoded word (``start``, ``end``, ``probability``):
    unlikely, implausibly short and implausibly long words score; a word of speech scores 0."""
    duration = float(word.end) - float(word.start)
    score = 1.0 if float(word.probability) < _UNLIKELY_WORD else 0.0
    if duration < _SHORT_WORD:
        score += (_SHORT_WORD - duration) * 15
    if duration > _LONG_WORD:
        score += duration - _LONG_WORD
    return score


def hallucinated(words: Sequence[Any]) -> bool:
    """Whether a decoded segment's words are text whisper wrote over sound that is not speech.

    Whisper's own test (``is_segment_anomaly``) on all the segment's words: anomalous when they
    score on average a full point each, i.e. nearly every word is one the model gave under 15 %,
    or squeezed into a few milliseconds, or stretched over seconds. A beep passes the VAD and
    whisper writes a sentence over it: on the widget's fake microphone, "I'm the one who's been
    here for years, …" at 2.7 points a word (one 2.3 s word, then 17 at 0 s). Words of speech on
    every shared file and synthesized meeting average 0.0-0.3. Whisper's other test (3 points
    over the first 8 words) is left out: a clip here is one segment of up to 30 s, and a 30 s
    clip of real speech reached 3.2 on its short words. A segment without words is not judged.
    """
    spoken = [w for w in words if str(w.word).strip(_PUNCTUATION)]
    if not spoken:
        return False
    return sum(word_anomaly(w) for w in spoken) >= len(spoken)
