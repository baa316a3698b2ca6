"""Transcribe: faster-whisper over the recording, or one chunk of it → ``transcript.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.schemas.messages import ChunkSpan
from agentflow.stages.analysis import Analysis, run_analysis

if TYPE_CHECKING:
    from agentflow.aws.items import RecordingItem, SessionItem
    from agentflow.speech.audio import Source


def compute(
    source: Source, recording: RecordingItem, session: SessionItem, chunk: ChunkSpan | None = None
) -> dict[str, Any]:
    """Transcribe the recording (or ``chunk`` of it); per channel when each participant has their own.

    The participants' names, then the session's ``vocabulary``, are whisper's hotwords.
    """
    from agentflow.speech.transcribe import hotwords_of, transcribe  # heavy: on first job, not on import

    names = [str(session[role]["name"]) for role in ("host", "client") if session.get(role)]
    options: dict[str, Any] = {
        "language": session.get("language"),
        "split_channels": bool(recording.get("per_channel")),
        "hotwords": hotwords_of([*names, *(session.get("vocabulary") or [])]),
    }
    if chunk is None:
        return dict(transcribe(source, **options).to_dict())
    duration = float(recording["duration_seconds"])
    transcript = transcribe(source, start=chunk.start, end=chunk.end, duration=duration, **options)
    return dict(transcript.to_chunk_dict())


def merge(parts: list[dict[str, Any]], recording: RecordingItem, session: SessionItem) -> dict[str, Any]:
    """One transcript from the chunks' (each word once, at the seams too)."""
    from agentflow.speech.seams import merge_transcripts  # pure Python: the fan-in loads no model code

    return dict(merge_transcripts(parts))  # type: ignore[arg-type]  # read back from JSON


def _ready(recording: RecordingItem, artifact: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = {
        "recording_id": recording["recording_id"],
        "language": artifact.get("language"),
        "words": len(artifact.get("words", [])),
    }
    return "transcript.ready", data


TRANSCRIBE = Analysis("transcribe", "transcript.json", compute=compute, merge=merge, ready=_ready)


def handle_record(record: SQSRecord) -> None:
    """Handle one transcription job."""
    run_analysis(record, TRANSCRIBE)
