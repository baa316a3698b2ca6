"""Diarize: pyannote.audio over the recording (or per channel), or one chunk of it → ``diarization.json``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.schemas.messages import ChunkSpan
from agentflow.stages.analysis import Analysis, run_analysis

if TYPE_CHECKING:
    from agentflow.aws.items import RecordingItem, SessionItem
    from agentflow.speech.audio import Source


class SpeakerCounts(TypedDict):
    """The speaker counts the pipeline is given."""

    num_speakers: int | None
    min_speakers: int | None
    max_speakers: int | None


def speaker_counts(session: SessionItem) -> SpeakerCounts:
    """``num_speakers`` / ``min_speakers`` / ``max_speakers`` from the session; two for a two-party
    session that says nothing."""
    num = session.get("num_speakers")
    bounds = (session.get("min_speakers"), session.get("max_speakers"))
    if num is None and bounds == (None, None):
        num = 2  # a two-party session
    return SpeakerCounts(
        num_speakers=int(num) if num is not None else None,
        min_speakers=int(bounds[0]) if bounds[0] is not None else None,
        max_speakers=int(bounds[1]) if bounds[1] is not None else None,
    )


def _labels(session: SessionItem) -> list[str]:
    return [session["host"]["name"], session["client"]["name"]]


def compute(
    source: Source, recording: RecordingItem, session: SessionItem, chunk: ChunkSpan | None = None
) -> dict[str, Any]:
    """Diarize the recording (or ``chunk`` of it): by channel when each participant has their own,
    else the pyannote pipeline."""
    duration = float(recording.get("duration_seconds") or 0)
    if recording.get("per_channel"):
        from agentflow.speech.per_channel import diarize_channels  # no torch

        if chunk is None:
            return dict(diarize_channels(source, labels=_labels(session)).to_dict())
        part = diarize_channels(
            source, labels=_labels(session), start=chunk.start, end=chunk.end, duration=duration
        )
        return dict(part.to_dict())
    import torch

    from agentflow.settings import get_settings
    from agentflow.speech.audio import probe
    from agentflow.speech.chunked import merge_chunks
    from agentflow.speech.diarize import diarize_chunk  # heavy: on first job, not on import

    torch.set_num_threads(get_settings().diarize_threads)
    counts = speaker_counts(session)
    if chunk is None:
        # A whole recording is one chunk, clustered as the chunks of a long one are: by the
        # threshold within it, then once by the session's count. On 12 minutes of a real two-party
        # meeting that is 19.4 % DER against 38.0 % for the count-bound pipeline, and the same
        # within a point on the 30 s files (docs/DIARIZATION.md "Chunks").
        if not duration and isinstance(source, Path):  # a caller outside the pipeline (tests, benchmarks)
            duration = probe(source).duration
        one = diarize_chunk(source, start=0.0, end=duration, duration=duration, **counts)
        return dict(merge_chunks([one], **counts).to_dict())
    return diarize_chunk(source, start=chunk.start, end=chunk.end, duration=duration, **counts)


def merge(parts: list[dict[str, Any]], recording: RecordingItem, session: SessionItem) -> dict[str, Any]:
    """One diarization from the chunks': one clustering of their speakers (none per channel)."""
    if recording.get("per_channel"):
        from agentflow.speech.per_channel import merge_channels

        return dict(merge_channels(parts).to_dict())
    from agentflow.speech.chunked import merge_chunks  # numpy only: the fan-in loads no torch

    return dict(merge_chunks(parts, **speaker_counts(session)).to_dict())


DIARIZE = Analysis("diarize", "diarization.json", compute=compute, merge=merge)


def handle_record(record: SQSRecord) -> None:
    """Handle one diarization job."""
    run_analysis(record, DIARIZE)
