"""Transcription with faster-whisper: words with times, per channel when each participant has one.

The recording is decoded once, streamed in 30 s blocks, and transcribed in windows of about ten
minutes that end inside pauses found by Silero VAD. Memory therefore stays bounded however long the
recording is: whole-file faster-whisper holds the audio, its VAD batches and a full-length STFT at
once, several GB for two hours. Inside a window we do what ``WhisperModel.transcribe(vad_filter=True)``
does (VAD, keep the speech, decode it, map the times back) but run the VAD once, since its
result also chooses where the window ends. The speech is then decoded in clips of at most 30 s that
begin and end in pauses (:data:`CLIP_SECONDS`; a longer region is split by a second VAD pass),
:data:`BATCH_SIZE` clips at a time; a clip whose batched decoding whisper would not accept is
decoded again on the sequential path (:func:`_clip_check`).

A long recording can also be cut into chunk jobs (issue 19): :func:`transcribe` with ``start`` /
``end`` decodes only that span plus :data:`OVERLAP` on each side, and
:func:`agentflow.speech.seams.merge_transcripts` joins the chunks' transcripts.
"""

from __future__ import annotations

import bisect
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypedDict

import av
import numpy as np
import numpy.typing as npt
from faster_whisper.transcribe import get_compression_ratio, restore_speech_timestamps
from faster_whisper.vad import VadOptions, get_speech_timestamps

from agentflow.errors import PermanentStageError
from agentflow.speech import whisper
from agentflow.speech.audio import SAMPLE_RATE, AudioDecodeError, Source, iter_chunks

logger = logging.getLogger(__name__)

WINDOW_SECONDS: Final = 600.0
BLOCK_SECONDS: Final = 30.0
# Re-examined by the next window when a window ends in silence: speech may be starting there.
_CARRY_SECONDS: Final = 3.0
# Splits unbroken speech at its shortest pauses when a whole window has no 2 s pause to cut at.
_MAX_PIECE_SECONDS: Final = 30.0

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
_SEED: Final = 0
# Seconds decoded beyond each side of a chunk's span, so that the two chunks either side of a cut
# both hear the speech around it with context; the seam is chosen in the inner half of the overlap.
# Measured on cuts placed inside speech (docs/TRANSCRIPTION.md, "Chunks").
OVERLAP: Final = 5.0
# A chunk cuts speech running past its seam zone at a pause at least this long (ms): VAD's own
# 2 s minimum silence finds none inside a turn, and a shorter one can fall between two words.
_TRIM_SILENCE_MS: Final = 300
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
# fallback); a clip whisper would not accept at temperature 0 (:func:`_clip_check`) is decoded
# again on the sequential path, with its fallbacks. None (or CLIP_SECONDS None): sequential only.
# Chunk jobs of 329 / 600 s (benchmarks/chunk_memory.py, 2026-12-02): CPU 67.7 / 135.3 s
# sequential, 45.0 / 81.0 s with 4, 49.3 / 82.7 s with 8; peak 573 / 868 MB, 876 / 954 MB with 4,
# 1066 / 1364 MB with 8. The same words with 4 and 8 on every shared file (docs/TRANSCRIPTION.md,
# "Batched decoding"): 4 saves as much CPU for half the memory.
BATCH_SIZE: int | None = 4
# The batched pipeline's own options; the rest of DECODE_OPTIONS is the sequential path's.
_BATCHED_OPTIONS: Final = frozenset({"beam_size", "temperature", "word_timestamps"})
# A batched clip whose words hold a phrase said this many times back to back, over at least this
# many words, is taken for a decoder loop (:func:`_repeats_itself`). Chosen before measuring, from
# what loops look like; a clip wrongly taken for one is only decoded again (sequential path).
_LOOP_REPEATS: Final = 3
_LOOP_WORDS: Final = 6


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds from the start of the recording."""

    start: float
    end: float
    word: str
    probability: float
    channel: int


@dataclass(frozen=True)
class Segment:
    """A run of words whisper decoded together (about a sentence)."""

    id: int
    start: float
    end: float
    text: str
    channel: int


class WordDict(TypedDict):
    """Serialised :class:`Word`."""

    start: float
    end: float
    word: str
    probability: float
    channel: int


class SegmentDict(TypedDict):
    """Serialised :class:`Segment`."""

    id: int
    start: float
    end: float
    text: str
    channel: int


class TranscriptDict(TypedDict):
    """Serialised :class:`Transcript` (the ``transcript.json`` artefact)."""

    language: str | None
    language_probability: float
    duration: float
    channels: int
    model: str
    segments: list[SegmentDict]
    words: list[WordDict]


class SpanDict(TypedDict):
    """Serialised :class:`Span`."""

    start: float
    end: float
    read_start: float
    read_end: float


class ChunkTranscriptDict(TranscriptDict):
    """A chunk job's artefact: its transcript (absolute times) and the span it owns and decoded."""

    span: SpanDict


@dataclass(frozen=True)
class Span:
    """The part of a recording a transcription owns (``start``–``end``) and the part it decoded.

    Seconds from the start of the recording. A whole-recording transcription owns and decodes
    ``0``–``duration``; a chunk decodes :data:`OVERLAP` more on each side, within the recording.
    """

    start: float
    end: float
    read_start: float
    read_end: float


@dataclass(frozen=True)
class Transcript:
    """What was said, when, and on which channel.

    ``language`` is the hint when one was given, else whisper's detection on the first speech;
    ``None`` (probability 0) when the recording holds no speech and no hint was given.
    ``channels`` is 1 for a mixed transcription, else the number of channels transcribed.
    """

    language: str | None
    language_probability: float
    duration: float  # seconds
    channels: int
    model: str
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]
    span: Span | None = None  # None: the whole recording

    @property
    def text(self) -> str:
        """All segment texts in time order, space-separated."""
        return " ".join(segment.text for segment in self.segments)

    def to_dict(self) -> TranscriptDict:
        """The JSON-ready form stored as ``transcript.json``."""
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "duration": self.duration,
            "channels": self.channels,
            "model": self.model,
            "segments": [
                SegmentDict(id=s.id, start=s.start, end=s.end, text=s.text, channel=s.channel)
                for s in self.segments
            ],
            "words": [
                WordDict(start=w.start, end=w.end, word=w.word, probability=w.probability, channel=w.channel)
                for w in self.words
            ],
        }

    def to_chunk_dict(self) -> ChunkTranscriptDict:
        """The chunk job's artefact: :meth:`to_dict` plus the span owned and decoded."""
        span = self.span or Span(0.0, self.duration, 0.0, self.duration)
        return ChunkTranscriptDict(
            **self.to_dict(),
            span=SpanDict(start=span.start, end=span.end, read_start=span.read_start, read_end=span.read_end),
        )


@dataclass
class _Window:
    offset: int  # samples from the start of the channel
    audio: npt.NDArray[np.float32]  # (samples,)
    speech: list[dict[str, int]]  # VAD chunks, {"start", "end"} in samples within ``audio``


@dataclass
class _Windower:
    """Cuts one channel's stream of blocks into windows that end in pauses."""

    window: int = field(default_factory=lambda: int(WINDOW_SECONDS * SAMPLE_RATE))  # samples
    blocks: list[npt.NDArray[np.float32]] = field(default_factory=list)
    size: int = 0
    offset: int = 0

    def push(self, block: npt.NDArray[np.float32]) -> Iterator[_Window]:
        self.blocks.append(block)
        self.size += block.shape[0]
        while self.size >= self.window:
            yield self._cut(final=False)

    def finish(self) -> Iterator[_Window]:
        if self.size:
            yield self._cut(final=True)

    def _cut(self, *, final: bool) -> _Window:
        audio = np.concatenate(self.blocks)
        speech = _speech(audio)
        if final:
            cut, keep = audio.shape[0], speech
        else:
            cut, keep = _choose_cut(audio.shape[0], speech)
            if cut is None:
                speech = _speech(audio, max_speech_s=_MAX_PIECE_SECONDS)
                cut, keep = _choose_cut(audio.shape[0], speech)
            if not cut:
                # Unreachable with 30 s pieces in a 600 s window; never loop without progress.
                cut, keep = audio.shape[0], speech
        window = _Window(self.offset, audio[:cut], keep)
        rest = audio[cut:].copy()  # a copy, so the window's array is freed once transcribed
        self.blocks, self.size, self.offset = [rest], rest.shape[0], self.offset + cut
        return window


def _speech(audio: npt.NDArray[np.float32], max_speech_s: float = float("inf")) -> list[dict[str, int]]:
    options = VadOptions(**VAD_OPTIONS, max_speech_duration_s=max_speech_s)
    chunks: list[dict[str, int]] = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return chunks


def _choose_cut(samples: int, speech: list[dict[str, int]]) -> tuple[int | None, list[dict[str, int]]]:
    """Where to end a window of ``samples``, and the speech chunks it keeps.

    A chunk still running at the window's end reaches exactly ``samples``; it and everything after
    the last finished chunk go to the next window. ``None`` means no chunk has finished.
    """
    carry = int(_CARRY_SECONDS * SAMPLE_RATE)
    closed = [chunk for chunk in speech if chunk["end"] < samples]
    if not speech:
        return samples - carry, []
    if not closed:
        return (speech[0]["start"] or None), []
    if len(closed) < len(speech):
        return closed[-1]["end"], closed
    return max(closed[-1]["end"], samples - carry), closed


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


@dataclass
class _Decoder:
    """Runs whisper over windows and collects words; detects the language once, on the first speech."""

    model: Any
    language: str | None
    hotwords: str | None = None
    # A chunk's seam zones in samples from the channel's start: no seam can fall before ``lo`` or
    # after ``hi``, so speech wholly outside them is not decoded (see :func:`_seam_speech`).
    lo: float = float("-inf")
    hi: float = float("inf")
    language_probability: float = 0.0
    segments: list[tuple[float, int, float, str]] = field(default_factory=list)  # start, channel, end, text
    words: list[Word] = field(default_factory=list)
    windows: int = 0
    redecoded: int = 0  # batched clips whisper would not accept, decoded again one at a time

    def run(self, window: _Window, channel: int) -> None:
        window.speech = _seam_speech(window, self.lo, self.hi)
        if not window.speech:
            return
        self.windows += 1
        clips: list[float] | str = "0"
        if CLIP_SECONDS is not None:
            window.speech = _pieces(window, CLIP_SECONDS)
            clips = _clips(window.speech, CLIP_SECONDS)
        speech = np.concatenate([window.audio[c["start"] : c["end"]] for c in window.speech])
        if BATCH_SIZE and not isinstance(clips, str):
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

        for segment in restore_speech_timestamps(segments, window.speech, SAMPLE_RATE):
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
            **DECODE_OPTIONS,
        )

    def _batched(self, speech: npt.NDArray[np.float32], clips: list[float]) -> tuple[list[Any], Any]:
        """The clips decoded :data:`BATCH_SIZE` at a time, and again one by one where whisper would not
        accept them (:func:`_clip_check`): segments in the times of ``speech``, and the info."""
        bounds = list(zip(clips[::2], clips[1::2], strict=True))
        pipeline = whisper.batched(self.model)
        decoded, info = pipeline.transcribe(
            speech,
            language=self.language,
            hotwords=self.hotwords,
            clip_timestamps=[{"start": a, "end": b} for a, b in bounds],
            batch_size=BATCH_SIZE,
            without_timestamps=True,
            **{key: value for key, value in DECODE_OPTIONS.items() if key in _BATCHED_OPTIONS},
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
            reason = _clip_check(segments)
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


def _clip_check(segments: Sequence[Any]) -> str | None:
    """Why one clip's batched decoding should not be kept; ``None`` when it should.

    First the tests faster-whisper's sequential path applies to every window before it falls back
    to a higher temperature (openai/whisper's ``decode_with_fallback``), with the thresholds of
    :data:`DECODE_OPTIONS`: a repetition loop compresses well (gzip ratio over 2.4), a garbled
    decode has a low mean log-probability, and a window the model takes for silence (high
    no-speech probability *and* low log-probability) is one the sequential path drops. The batched
    pipeline computes these figures but acts on none of them. Then a loop too short for gzip to
    see (:func:`_repeats_itself`): base decoding reversed speech in one batched clip gave "He's
    there." five times at a compression ratio of 2.29. A clip refused here is decoded again on the
    sequential path, which decides as the stage always has; so a refusal costs one encoder pass,
    never accuracy against the sequential stage. Nothing here depends on what was said.
    """
    if not segments:
        return None  # a clip the pipeline gave no segment for: nothing to accept or refuse
    text = "".join(segment.text for segment in segments)
    # The pipeline gives every segment of a clip the clip's log-probability and no-speech figures.
    logprob, no_speech = float(segments[0].avg_logprob), float(segments[0].no_speech_prob)
    if no_speech > DECODE_OPTIONS["no_speech_threshold"] and logprob < DECODE_OPTIONS["log_prob_threshold"]:
        return f"silence? no-speech probability {no_speech:.2f}, mean log-probability {logprob:.2f}"
    ratio = get_compression_ratio(text)
    if ratio > DECODE_OPTIONS["compression_ratio_threshold"]:
        return f"repetitive: compression ratio {ratio:.2f}"
    if logprob < DECODE_OPTIONS["log_prob_threshold"]:
        return f"unlikely: mean log-probability {logprob:.2f}"
    if _repeats_itself(text):
        return "a phrase repeated back to back"
    return None


def _repeats_itself(text: str, *, times: int = _LOOP_REPEATS, words: int = _LOOP_WORDS) -> bool:
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


def _seam_speech(window: _Window, lo: float, hi: float) -> list[dict[str, int]]:
    """A chunk's speech that a seam can need: none wholly before ``lo`` or after ``hi`` (samples).

    :func:`agentflow.speech.seams.merge_transcripts` places each seam at most ``OVERLAP / 2`` from
    its cut, so a chunk's words before ``start - OVERLAP / 2`` or after ``end + OVERLAP / 2`` are
    never kept. Decoding them is not only wasted: the read edge usually falls inside a word, and on the truncated last 30 s
    whisper can loop and run all six temperature fallbacks (dev00, chunk 10.15-20.35 s: 7 failed
    decodes, 21-32 s for 20 s of audio). A region crossing ``hi`` ends at its first pause
    (:data:`_TRIM_SILENCE_MS`) past it, one crossing ``lo`` starts at its last pause before it; a
    region without such a pause is kept whole.
    """
    if lo == float("-inf") and hi == float("inf"):
        return window.speech  # unchunked: unchanged
    options = VadOptions(**{**VAD_OPTIONS, "min_silence_duration_ms": _TRIM_SILENCE_MS})
    kept: list[dict[str, int]] = []
    for region in window.speech:
        begin, finish = window.offset + region["start"], window.offset + region["end"]
        if begin >= hi or finish <= lo:
            continue
        if begin < lo or finish > hi:
            parts = get_speech_timestamps(
                window.audio[region["start"] : region["end"]], options, sampling_rate=SAMPLE_RATE
            )
            if finish > hi:
                ends = [begin + p["end"] for p in parts[:-1] if begin + p["end"] >= hi]
                if ends:
                    finish = ends[0]
            if begin < lo:
                starts = [begin + p["start"] for p in parts[1:] if begin + p["start"] <= lo]
                if starts:
                    begin = starts[-1]
        if begin < finish:
            kept.append({"start": begin - window.offset, "end": finish - window.offset})
    return kept


def _pieces(window: _Window, seconds: float) -> list[dict[str, int]]:
    """The window's speech with every region longer than ``seconds`` split at its last short pause
    (VAD's ``max_speech_duration_s``: the last silence over 98 ms before the limit), in samples."""
    options = VadOptions(**VAD_OPTIONS, max_speech_duration_s=seconds)
    limit = int(seconds * SAMPLE_RATE)
    pieces: list[dict[str, int]] = []
    for region in window.speech:
        if region["end"] - region["start"] <= limit:
            pieces.append(region)
            continue
        inner = get_speech_timestamps(
            window.audio[region["start"] : region["end"]], options, sampling_rate=SAMPLE_RATE
        )
        pieces.extend(
            {"start": region["start"] + p["start"], "end": region["start"] + p["end"]} for p in inner
        )
    return pieces


def _clips(pieces: list[dict[str, int]], seconds: float) -> list[float]:
    """``[start, end, start, end, …]`` (seconds of the concatenated pieces): consecutive pieces packed
    into clips of at most ``seconds``, each decoded on its own from its start."""
    limit = int(seconds * SAMPLE_RATE)
    bounds: list[int] = []
    start = position = 0
    for piece in pieces:
        length = piece["end"] - piece["start"]
        if position + length - start > limit and position > start:
            bounds += [start, position]
            start = position
        position += length
    bounds += [start, position]
    return [b / SAMPLE_RATE for b in bounds]


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
    decoder = _Decoder(
        whisper_model,
        language=_language_hint(language, whisper_model),
        hotwords=hotwords,
        lo=(start - OVERLAP / 2) * SAMPLE_RATE if start > 0 else float("-inf"),
        hi=(end + OVERLAP / 2) * SAMPLE_RATE if end is not None else float("inf"),
    )
    if decoder.language is not None:
        decoder.language_probability = 1.0
    elif not whisper_model.model.is_multilingual:
        decoder.language, decoder.language_probability = "en", 1.0

    first = round(read_start * SAMPLE_RATE)  # the sample iter_chunks starts at
    windowers: list[_Windower] = []
    samples = 0
    for block in _blocks(
        source, mono=not split_channels, start=read_start, end=read_end
    ):  # (channels, samples)
        if not windowers:
            windowers = [_Windower(offset=first) for _ in range(block.shape[0])]
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
        "transcribed %s %.1f-%.1f s: %d channel(s), %d window(s), %d clip(s) decoded again, %d words in %.1f s",
        source.name if isinstance(source, Path) else type(source).__name__,
        read_start,
        decoded_end,
        transcript.channels,
        decoder.windows,
        decoder.redecoded,
        len(transcript.words),
        time.perf_counter() - began,
    )
    return transcript
