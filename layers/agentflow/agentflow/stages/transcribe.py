"""Transcribe: faster-whisper over the recording → ``transcript.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.stages.analysis import run_analysis


def compute(path: Path, recording: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
    """Transcribe ``path``; per channel when each participant has their own."""
    from agentflow.speech.transcribe import transcribe  # heavy: loaded on first job, not on import

    transcript = transcribe(
        path, language=session.get("language"), split_channels=bool(recording.get("per_channel"))
    )
    return dict(transcript.to_dict())


def handle_record(record: SQSRecord) -> None:
    """Handle one transcription job."""
    run_analysis(record, stage="transcribe", compute=compute)
