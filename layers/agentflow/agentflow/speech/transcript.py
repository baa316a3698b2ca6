"""What a transcription gives: words and segments with times, the span it owns, and their JSON form.

Plain data, with no audio or model code, so that whatever reads a transcript imports nothing heavy.
:func:`agentflow.speech.transcribe.transcribe` makes a :class:`Transcript`; its dictionaries are the
``transcript.json`` artefact and the chunk jobs' artefacts (:mod:`agentflow.speech.seams`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict


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
    ``0``–``duration``; a chunk decodes :data:`agentflow.speech.transcribe.OVERLAP` more on each
    side, within the recording.
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
