"""The decoding loop: whisper over each window's speech, batched where it can be, words collected.

Inside a window this does what ``WhisperModel.transcribe(vad_filter=True)`` does (keep the speech,
decode it, map the times back) with the VAD run once, by :mod:`agentflow.speech.windows`. The
speech is decoded in clips of at most ``clip_seconds``, ``batch_size`` at a time by faster-whisper's
``BatchedInferencePipeline``; a clip whose batched decoding whisper would not accept
(:func:`agentflow.speech.guard.clip_check`) is decoded again on the sequential path, and a segment
whisper's own anomaly test takes for text over non-speech (:func:`agentflow.speech.guard.hallucinated`)
is dropped. Every setting is the caller's (``agentflow.speech.transcribe``), read when it makes the
:class:`Decoder`.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from faster_whisper.transcribe import restore_speech_timestamps

from agentflow.speech import whisper
from agentflow.speech.audio import SAMPLE_RATE
from agentflow.speech.guard import clip_check, hallucinated
from agentflow.speech.transcript import Word
from agentflow.speech.windows import Window, pack_clips, pieces_of, seam_speech

logger = logging.getLogger(__name__)

_SEED: Final = 0
# The batched pipeline's own options; the rest of the decode options is the sequential path's.
_BATCHED_OPTIONS: Final = frozenset({"beam_size", "temperature", "word_timestamps"})


@dataclass(kw_only=True)
class Decoder:
    """Runs whisper over windows and collects words; detects the language once, on the first speech."""

    model: Any
    language: str | None
    hotwords: str | None = None
    # A chunk's seam zones in samples from the channel's start: no seam can fall before ``lo`` or
    # after ``hi``, so speech wholly outside them is not decoded (see :func:`seam_speech`).
    lo: float = float("-inf")
    hi: float = float("inf")
    options: Mapping[str, Any]  # faster-whisper's decode options, and the clip check's thresholds
    vad_options: Mapping[str, Any]
    clip_seconds: float | None  # None: whisper's own seeking over each region
    batch_size: int | None  # None (or clip_seconds None): sequential only
    language_probability: float = 0.0
    segments: list[tuple[float, int, float, str]] = field(default_factory=list)  # start, channel, end, text
    words: list[Word] = field(default_factory=list)
    windows: int = 0
    redecoded: int = 0  # batched clips whisper would not accept, decoded again one at a time
    dropped: int = 0  # segments whisper wrote over sound that is not speech (guard.hallucinated)

    def run(self, window: Window, channel: int) -> None:
        """Decode one window of ``channel`` and keep its words and segments, in recording time."""
        window.speech = seam_speech(window, self.lo, self.hi, self.vad_options)
        if not window.speech:
            return
        self.windows += 1
        clips: list[float] | str = "0"
        if self.clip_seconds is not None:
            window.speech = pieces_of(window, self.clip_seconds, self.vad_options)
            clips = pack_clips(window.speech, self.clip_seconds)
        speech = np.concatenate([window.audio[c["start"] : c["end"]] for c in window.speech])
        if self.batch_size and not isinstance(clips, str):
            segments, info = self._batched(speech, clips)
        else:
            segments, info = self._sequential(speech, clips, self.language)
        if self.language is None:
            self.language, self.language_probability = info.language, float(info.language_probability)
        start_s = window.offset / SAMPLE_RATE
        end_s = start_s + len(window.audio) / SAMPLE_RATE

        def place(seconds: float) -> float:
            # DTW alignment may put a boundary a frame past the audio: keep times inside the window.
            return round(min(max(start_s + float(seconds), start_s), end_s), 3)

        for segment in restore_speech_timestamps(self._heard(segments), window.speech, SAMPLE_RATE):
            text = segment.text.strip()
            if not text:
                continue
            for word in segment.words or ():
                begin = place(word.start)
                self.words.append(
                    Word(
                        start=begin,
                        end=max(place(word.end), begin),
                        word=word.word.strip(),
                        probability=round(float(word.probability), 4),
                        channel=channel,
                    )
                )
            self.segments.append((place(segment.start), channel, place(segment.end), text))

    def _heard(self, segments: Iterable[Any]) -> Iterator[Any]:
        """The segments whisper's anomaly test keeps (:func:`hallucinated`), judged in the times of
        the speech it decoded, before a word that spans a pause the VAD cut out is stretched over it."""
        for segment in segments:
            if segment.text.strip() and hallucinated(segment.words or ()):
                self.dropped += 1
                logger.debug("segment dropped, whisper's anomaly test: %r", segment.text.strip())
                continue
            yield segment

    def _sequential(
        self, speech: npt.NDArray[np.float32], clips: list[float] | str, language: str | None
    ) -> tuple[Any, Any]:
        """faster-whisper's own path: one clip at a time, beam search, temperature fallback."""
        # The temperature fallback samples: seed it per call so that the same recording always
        # gives the same words (a signed summary should be reproducible; tiny.en lost a word in
        # one run of three on tests/speech/test_transcribe.py's windowed jfk test without it).
        import ctranslate2  # loaded with the model already; deferred so importing this module stays light

        ctranslate2.set_random_seed(_SEED)
        return self.model.transcribe(  # type: ignore[no-any-return]
            speech,
            language=language,
            vad_filter=False,
            hotwords=self.hotwords,
            clip_timestamps=clips,
            **self.options,
        )

    def _batched(self, speech: npt.NDArray[np.float32], clips: list[float]) -> tuple[list[Any], Any]:
        """The clips decoded ``batch_size`` at a time, and again one by one where whisper would not
        accept them (:func:`clip_check`): segments in the times of ``speech``, and the info."""
        bounds = list(zip(clips[::2], clips[1::2], strict=True))
        pipeline = whisper.batched(self.model)
        decoded, info = pipeline.transcribe(
            speech,
            language=self.language,
            hotwords=self.hotwords,
            clip_timestamps=[{"start": a, "end": b} for a, b in bounds],
            batch_size=self.batch_size,
            without_timestamps=True,
            **{key: value for key, value in self.options.items() if key in _BATCHED_OPTIONS},
        )
        by_clip: list[list[Any]] = [[] for _ in bounds]
        starts = [a for a, _ in bounds]
        for segment in decoded:
            # A clip's segments lie inside it; its middle names the clip whatever the rounding.
            by_clip[max(bisect.bisect_right(starts, (segment.start + segment.end) / 2) - 1, 0)].append(
                segment
            )
        kept: list[Any] = []
        refused: list[float] = []
        for (a, b), segments in zip(bounds, by_clip, strict=True):
            reason = clip_check(segments, self.options, end=b)
            if reason is None:
                kept.extend(segments)
                continue
            logger.debug("clip %.2f-%.2f s of the speech decoded again one at a time: %s", a, b, reason)
            refused += [a, b]
        if refused:
            # The same call as the sequential stage's, for these clips only: each is decoded from its
            # own start, exactly as it would have been without batching.
            self.redecoded += len(refused) // 2
            again, _ = self._sequential(speech, refused, self.language or info.language)
            kept.extend(again)
        return kept, info
