"""Transcribe: faster-whisper over the recording → ``transcript.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.stages.analysis import run_analysis


def compute(path: Path, recording: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
    """Transcribe ``path``; per channel when each participant has their own.

    The participants' names, then the session's ``vocabulary``, are whisper's hotwords.
    """
    from agentflow.speech.transcribe import hotwords_of, transcribe  # heavy: on first job, not on import

    names = [str(session[role]["name"]) for role in ("host", "client") if session.get(role)]
    transcript = transcribe(
        path,
        language=session.get("language"),
        split_channels=bool(recording.get("per_channel")),
        hotwords=hotwords_of([*names, *(session.get("vocabulary") or [])]),
    )
    return dict(transcript.to_dict())


def handle_record(record: SQSRecord) -> None:
    """Handle one transcription job."""
    run_analysis(record, stage="transcribe", compute=compute)
