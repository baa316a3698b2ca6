"""Fixed transcribe and diarize computes for tests about what surrounds the models.

A word at every whole second of a chunk and two speakers, one half of the chunk each, so a test of
the chunk orchestration, the demo's report or the page's progress knows the answer in advance; the
merges join the chunks' parts in order. The models' own chunked accuracy is tests/speech's.
"""

from __future__ import annotations

import math
from typing import Any

from agentflow.schemas.messages import ChunkSpan


def span(recording: dict[str, Any], chunk: ChunkSpan | None) -> tuple[float, float]:
    """The chunk's span in seconds, or the whole recording's when it is computed whole."""
    return (chunk.start, chunk.end) if chunk else (0.0, float(recording["duration_seconds"]))


def transcript(
    source: Any, recording: dict[str, Any], session: dict[str, Any], chunk: ChunkSpan | None = None
) -> dict[str, Any]:
    """A word ``w<s>`` at every whole second ``s`` of the chunk (from 1 s on), in one segment."""
    start, end = span(recording, chunk)
    words: list[dict[str, Any]] = [
        {"start": float(s), "end": s + 0.4, "word": f"w{s}", "probability": 0.9, "channel": 0}
        for s in range(max(math.ceil(start), 1), math.ceil(end))
    ]
    return {
        "language": "en",
        "language_probability": 1.0,
        "duration": float(recording["duration_seconds"]),
        "channels": 1,
        "model": "fixed",
        "segments": [
            {"id": 0, "start": start, "end": end, "text": " ".join(w["word"] for w in words), "channel": 0}
        ],
        "words": words,
    }


def merge_transcripts(
    parts: list[dict[str, Any]], recording: dict[str, Any], session: dict[str, Any]
) -> dict[str, Any]:
    """The parts' words and segments in order, the segments numbered again."""
    segments = [segment for part in parts for segment in part["segments"]]
    return dict(
        parts[0],
        words=[w for part in parts for w in part["words"]],
        segments=[dict(s, id=i) for i, s in enumerate(segments)],
    )


def diarization(
    source: Any, recording: dict[str, Any], session: dict[str, Any], chunk: ChunkSpan | None = None
) -> dict[str, Any]:
    """Two speakers, one half of the chunk each."""
    start, end = span(recording, chunk)
    half = (start + end) / 2
    turns = [
        {"start": start, "end": half, "speaker": "SPEAKER_00"},
        {"start": half, "end": end, "speaker": "SPEAKER_01"},
    ]
    return {
        "mode": "pipeline",
        "duration": float(recording["duration_seconds"]),
        "speakers": ["SPEAKER_00", "SPEAKER_01"],
        "turns": turns,
        "exclusive": turns,
    }


def merge_diarizations(
    parts: list[dict[str, Any]], recording: dict[str, Any], session: dict[str, Any]
) -> dict[str, Any]:
    """The parts' turns in order (the exclusive turns are the same)."""
    turns = [turn for part in parts for turn in part["turns"]]
    return dict(parts[0], turns=turns, exclusive=turns)
