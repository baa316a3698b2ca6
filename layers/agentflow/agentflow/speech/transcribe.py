"""Transcription with faster-whisper: words with times, per channel when each participant has one.

The recording is decoded once, streamed in 30 s blocks, and transcribed in windows of about ten
minutes that end inside pauses found by Silero VAD. Memory therefore stays bounded however long the
recording is: whole-file faster-whisper holds the audio, its VAD batches and a full-length STFT at
once, several GB for two hours. Inside a window we do what ``WhisperModel.transcribe(vad_filter=True)``
does (VAD, keep the speech, decode it, map the times back) but run the VAD once, since its
result also chooses where the window ends. The speech is then decoded in clips of at most 30 s that
begin and end in pauses (:data:`CLIP_SECONDS`; a longer region is split by a second VAD pass),
:data:`BATCH_SIZE` clips at a time; a clip whose batched decoding whisper would not accept is
decoded again on the sequential path (:func:`agentflow.speech.guard.clip_check`).

A long recording can also be cut into chunk jobs (issue 19): :func:`transcribe` with ``start`` /
``end`` decodes only that span plus :data:`OVERLAP` on each side, and
:func:`agentflow.speech.seams.merge_transcripts` joins the chunks' transcripts.

This module is what the stage calls, and it holds every setting (read at each call, so a benchmark
or a test may change one here); the work is in :mod:`agentflow.speech.windows` (where the speech is
and how it is cut), :mod:`agentflow.speech.decoding` (whisper over the clips),
:mod:`agentflow.speech.guard` (which batched clips to decode again) and the results'
types in :mod:`agentflow.speech.transcript`, named here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from agentflow.errors import PermanentStageError
from agentflow.speech import whisper
from agentflow.speech.audio import SAMPLE_RATE, AudioDecodeError, Source, iter_chunks
from agentflow.speech.decoding import Decoder
from agentflow.speech.transcript import (
    ChunkTranscriptDict,
    Segment,
    SegmentDict,
    Span,
    SpanDict,
    Transcript,
    TranscriptDict,
    Word,
    WordDict,
)
from agentflow.speech.windows import Windower

__all__ = [
    "BATCH_SIZE",
    "BLOCK_SECONDS",
    "CLIP_SECONDS",
    "DECODE_OPTIONS",
    "OVERLAP",
    "VAD_OPTIONS",
    "WINDOW_SECONDS",
    "ChunkTranscriptDict",
    "Segment",
    "SegmentDict",
    "Span",
    "SpanDict",
    "Transcript",
    "TranscriptDict",
    "Word",
    "WordDict",
    "hotwords_of",
    "read_span",
    "transcribe",
]

logger = logging.getLogger(__name__)

WINDOW_SECONDS: Final = 600.0
BLOCK_SECONDS: Final = 30.0

# Measured in benchmarks/transcribe.py and docs/TRANSCRIPTION.md. condition_on_previous_text=False
# stops one bad window from seeding a repetition loop in the next (openai/whisper#1048);
# compression_ratio_threshold and log_prob/no_speech thresholds are whisper's own fallbacks.
DECODE_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "beam_size": 5,
        "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "word_timestamps": True,
        "condition_on_previous_text": False,
        "compression_ratio_threshold": 2.4,
        "log_prob_threshold": -1.0,
        "no_speech_threshold": 0.6,
    }
)
# Seconds decoded beyond each side of a chunk's span, so that the two chunks either side of a cut
# both hear the speech around it with context; the seam is chosen in the inner half of the overlap.
# Measured on cuts placed inside speech (docs/TRANSCRIPTION.md, "Chunks").
OVERLAP: Final = 5.0
# Speech is decoded in clips of at most this many seconds (whisper's window) that begin and end in
# pauses, each from its own start (faster-whisper's clip_timestamps). Whisper's own seeking over a
# long VAD region starts each 30 s window at the last word it heard, mid-turn, and base then skipped
# whole turns at a window's start: 92 of 314 words wrong on a two-minute synthesized meeting, 46 with
# clips, for 18 % more encoder passes (docs/TRANSCRIPTION.md). None: whisper's own seeking.
CLIP_SECONDS: float | None = 30.0
# faster-whisper's defaults, spelled out: they decide what counts as speech.
VAD_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType(
    {"threshold": 0.5, "min_speech_duration_ms": 0, "min_silence_duration_ms": 2000, "speech_pad_ms": 400}
)
# A window's clips are decoded this many at a time by faster-whisper's BatchedInferencePipeline
# (one encoder and one beam search over the batch, without timestamp tokens, no temperature
# fallback); a clip whisper would not accept at temperature 0 (``guard.clip_check``) is decoded
# again on the sequential path, with its fallbacks. None (or CLIP_SECONDS None): sequential only.
# Chunk jobs of 329 / 600 s (benchmarks/chunk_memory.py, 2026-12-02): CPU 67.7 / 135.3 s
# sequential, 45.0 / 81.0 s with 4, 49.3 / 82.7 s with 8; peak 573 / 868 MB, 876 / 954 MB with 4,
# 1066 / 1364 MB with 8. The same words with 4 and 8 on every shared file (docs/TRANSCRIPTION.md,
# "Batched decoding"): 4 saves as much CPU for half the memory.
BATCH_SIZE: int | None = 4


def _language_hint(language: str | None, model: Any) -> str | None:
    if not language:
        return None
    code = language.split("-")[0].split("_")[0].lower()  # "en-US" → "en"
    if code not in model.supported_languages:
        raise PermanentStageError(
            f"language {language!r} is not supported by this whisper model", field="language"
        )
    return code


def _blocks(
    source: Source, *, mono: bool, start: float, end: float | None
) -> Iterator[npt.NDArray[np.float32]]:
    # iter_chunks opens the source with open_audio, which raises AudioDecodeError for a file that
    # is not media or has no audio stream; errors later in the stream are mapped here.
    if not isinstance(source, Path):
        source.seek(0)  # FFmpeg probes from the current offset: a handle read before would fail
    try:
        yield from iter_chunks(source, mono=mono, chunk_seconds=BLOCK_SECONDS, start=start, end=end)
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"the audio could not be decoded ({exc})") from exc


def read_span(start: float, end: float | None, duration: float | None) -> tuple[float, float | None]:
    """The seconds a chunk ``start``–``end`` decodes: :data:`OVERLAP` more each side, inside the recording.

    Args:
        start: The chunk's first second.
        end: Its last second; ``None`` to the end of the recording.
        duration: The recording's length, if known.

    Returns:
        ``(read_start, read_end)``; ``read_end`` is ``None`` (to the end) when neither ``end`` nor
        ``duration`` bounds it.

    Raises:
        PermanentStageError: An empty or inverted span, or one starting before the recording.
    """
    if start < 0 or (end is not None and end <= start):
        raise PermanentStageError(f"chunk [{start}, {end}) s is empty or starts before the recording")
    read_start = max(start - OVERLAP, 0.0) if start > 0 else 0.0
    read_end = None if end is None else end + OVERLAP
    if duration is not None:
        read_end = duration if read_end is None else min(read_end, duration)
    return read_start, read_end


def hotwords_of(terms: Iterable[str]) -> str | None:
    """The hotwords prompt for faster-whisper: the terms once each, in order, space-separated.

    faster-whisper puts them in the previous-text slot of every window's prompt and keeps at most
    223 tokens of them (half its 448-token context), dropping the tail: put names first.
    """
    unique = list(dict.fromkeys(" ".join(term.split()) for term in terms if term.strip()))
    return " ".join(unique) or None


def transcribe(
    source: Source,
    *,
    language: str | None = None,
    split_channels: bool = False,
    model: str | None = None,
    hotwords: str | None = None,
    start: float = 0.0,
    end: float | None = None,
    duration: float | None = None,
) -> Transcript:
    """Transcribe a recording, or one chunk of it, with word timestamps.

    A chunk (``start`` / ``end``) decodes only :func:`read_span`: its span and :data:`OVERLAP` on
    each side, so memory is set by the span, not by the recording. Its words keep times from the
    start of the recording; :meth:`Transcript.to_chunk_dict` and
    :func:`agentflow.speech.seams.merge_transcripts` join the chunks.

    Args:
        source: Any audio PyAV can decode: a path or a seekable binary file-like (such as
            ``agentflow.aws.ranged.S3RangeReader``), read from its start.
        language: An ISO 639-1 code (or a tag such as ``en-US``) that skips language detection.
        split_channels: Transcribe each channel on its own (one participant per channel) and keep
            the channel on every word; otherwise the channels are mixed to mono (channel 0).
        model: A whisper size name or directory; default the ``WHISPER_MODEL`` setting.
        hotwords: Names and terms the recording is likely to contain (:func:`hotwords_of`), given
            to whisper as context so that it spells them as given.
        start: The chunk's first second (default the recording's start).
        end: The chunk's last second (default the recording's end).
        duration: The recording's length in seconds (from ingest's probe); the transcript's
            ``duration``, and the bound of the overlap read past ``end``.

    Returns:
        The transcript, with the span it owns and decoded; empty (no segments, no words) when it
        holds no speech.

    Raises:
        AudioDecodeError: The file has no decodable audio.
        PermanentStageError: The language is not one the model knows, or the span is empty.
        WeightsError: The model's files are missing or not the recorded bytes.
    """
    began = time.perf_counter()
    read_start, read_end = read_span(start, end, duration)
    whisper_model = whisper.get_model(model)
    whisper.vad_path()
    decoder = Decoder(
        model=whisper_model,
        language=_language_hint(language, whisper_model),
        hotwords=hotwords,
        lo=(start - OVERLAP / 2) * SAMPLE_RATE if start > 0 else float("-inf"),
        hi=(end + OVERLAP / 2) * SAMPLE_RATE if end is not None else float("inf"),
        options=DECODE_OPTIONS,
        vad_options=VAD_OPTIONS,
        clip_seconds=CLIP_SECONDS,
        batch_size=BATCH_SIZE,
    )
    if decoder.language is not None:
        decoder.language_probability = 1.0
    elif not whisper_model.model.is_multilingual:
        decoder.language, decoder.language_probability = "en", 1.0

    first = round(read_start * SAMPLE_RATE)  # the sample iter_chunks starts at
    windowers: list[Windower] = []
    samples = 0
    for block in _blocks(
        source, mono=not split_channels, start=read_start, end=read_end
    ):  # (channels, samples)
        if not windowers:
            windowers = [
                Windower(window=int(WINDOW_SECONDS * SAMPLE_RATE), vad_options=VAD_OPTIONS, offset=first)
                for _ in range(block.shape[0])
            ]
        samples += block.shape[1]
        for channel, windower in enumerate(windowers):
            for window in windower.push(block[channel]):
                decoder.run(window, channel)
    for channel, windower in enumerate(windowers):
        for window in windower.finish():
            decoder.run(window, channel)

    ordered = sorted(decoder.segments, key=lambda item: (item[0], item[1]))
    decoded_end = round((first + samples) / SAMPLE_RATE, 3)
    transcript = Transcript(
        language=decoder.language,
        language_probability=round(decoder.language_probability, 4),
        duration=decoded_end if duration is None else round(duration, 3),
        channels=max(len(windowers), 1),
        model=whisper.resolve(model).label,
        segments=tuple(
            Segment(id=index, start=begin, end=finish, text=text, channel=channel)
            for index, (begin, channel, finish, text) in enumerate(ordered)
        ),
        words=tuple(sorted(decoder.words, key=lambda word: (word.start, word.channel))),
        span=Span(
            start=round(start, 3),
            end=decoded_end if end is None else round(end, 3),
            read_start=round(read_start, 3),
            read_end=decoded_end if read_end is None else min(round(read_end, 3), decoded_end),
        ),
    )
    logger.info(
        "transcribed %s %.1f-%.1f s: %d channel(s), %d window(s), %d clip(s) decoded again, "
        "%d segment(s) dropped as hallucinated, %d words in %.1f s",
        source.name if isinstance(source, Path) else type(source).__name__,
        read_start,
        decoded_end,
        transcript.channels,
        decoder.windows,
        decoder.redecoded,
        decoder.dropped,
        len(transcript.words),
        time.perf_counter() - began,
    )
    return transcript
