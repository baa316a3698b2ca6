"""The shape both analysis stages share: job in, artifact out, completion recorded, fan-in.

Order matters for crash safety: the artifact is written whole first, then completion is recorded
(conditionally), then the fan-in claim is tried. A crash anywhere redelivers the job, which finds
either no completion (and recomputes) or a completion (and only retries the fan-in).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.errors import PermanentStageError
from agentflow.schemas.messages import StageJob
from agentflow.services import recordings as recs
from agentflow.services.pipeline import PipelineService
from agentflow.stages.common import StageRun, artifact_key, downloaded, open_job, put_json

log = logging.getLogger(__name__)

# compute(path, recording, session) -> the artifact (a JSON-serialisable dict)
Compute = Callable[[Path, dict[str, Any], dict[str, Any]], dict[str, Any]]
# ready(recording, artifact) -> the (event type, data) announced once the artifact is stored
Ready = Callable[[dict[str, Any], dict[str, Any]], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Analysis:
    """What one analysis stage adds to the shared shape: its artifact, and what it announces."""

    artifact: str
    ready: Ready | None = None


def _transcript_ready(recording: dict[str, Any], artifact: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = {
        "recording_id": recording["recording_id"],
        "language": artifact.get("language"),
        "words": len(artifact.get("words", [])),
    }
    return "transcript.ready", data


ANALYSES = {
    "transcribe": Analysis("transcript.json", ready=_transcript_ready),
    "diarize": Analysis("diarization.json"),
}


def run_analysis(record: SQSRecord, *, stage: str, compute: Compute) -> None:
    """Run one analysis stage for the job in ``record``."""
    job = StageJob.model_validate_json(record.body)
    opened = open_job(job, statuses=("PROCESSING", "SUMMARIZING"))
    if opened is None:
        return
    settings, table, pipeline = opened.settings, opened.table, opened.pipeline
    recording, session = opened.recording, opened.session
    progress = recording.get("stages", {}).get(stage, {})
    if progress.get("status") != "DONE":
        computed = _compute(
            table, pipeline, recording, session, stage=stage, compute=compute, bucket=settings.bucket_name
        )
        if computed is None:
            return
        recording = computed
    if recs.claim_summarize(table, recording, job_id=job.job_id):
        # Claim, move, send, mark sent: a crash between any two redelivers this job, whose claim
        # still holds, so it sends again; the summarize stage is idempotent if that repeats a send.
        recs.transition(table, recording, to="SUMMARIZING", from_=("PROCESSING",))
        recs.send_stage_jobs(recording, queues={"summarize": settings.summarize_queue_url})
        recs.mark_summarize_sent(table, recording)


def _compute(
    table: Any,
    pipeline: PipelineService,
    recording: dict[str, Any],
    session: dict[str, Any],
    *,
    stage: str,
    compute: Compute,
    bucket: str,
) -> dict[str, Any] | None:
    run = StageRun.start(table, recording, stage)
    try:
        with downloaded(bucket, recording["s3_key"]) as path:
            artifact = compute(path, recording, session)
    except PermanentStageError as exc:
        pipeline.fail(recording, stage=stage, reason=exc.message)
        return None
    except Exception as exc:
        run.retrying(exc)
        raise
    analysis = ANALYSES[stage]
    key = artifact_key(recording["recording_id"], analysis.artifact)
    put_json(bucket, key, artifact)
    updated = run.done(artifact=key)
    if analysis.ready is not None:
        event_type, data = analysis.ready(recording, artifact)
        pipeline.emit(session, event_type, data, event_key=f"{recording['recording_id']}:{event_type}")
    return updated
