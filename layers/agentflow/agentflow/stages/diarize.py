"""Diarize: pyannote.audio over the recording (or per channel) → ``diarization.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.stages.analysis import run_analysis


def compute(path: Path, recording: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
    """Diarize ``path``: by channel when each participant has their own, else the pyannote pipeline."""
    if recording.get("per_channel"):
        from agentflow.speech.per_channel import diarize_channels  # no torch

        labels = [session["host"]["name"], session["client"]["name"]]
        return dict(diarize_channels(path, labels=labels).to_dict())
    import torch

    from agentflow.settings import get_settings
    from agentflow.speech.diarize import diarize  # heavy: on first job, not on import

    torch.set_num_threads(get_settings().diarize_threads)
    num = session.get("num_speakers")
    bounds = (session.get("min_speakers"), session.get("max_speakers"))
    if num is None and bounds == (None, None):
        num = 2  # a two-party session
    result = diarize(
        path,
        num_speakers=int(num) if num is not None else None,
        min_speakers=int(bounds[0]) if bounds[0] is not None else None,
        max_speakers=int(bounds[1]) if bounds[1] is not None else None,
    )
    return dict(result.to_dict())


def handle_record(record: SQSRecord) -> None:
    """Handle one diarization job."""
    run_analysis(record, stage="diarize", compute=compute)
