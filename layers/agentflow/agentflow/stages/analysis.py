"""The shape both analysis stages share: chunk job in, chunk artifact out, stage merge, fan-in.

A recording longer than ``CHUNK_SECONDS`` is planned as several chunks at ingest (issue 19); each
is one transcribe job and one diarize job, run in parallel. A short recording is one chunk, and
its job computes the stage's artifact directly, as before.

Order matters for crash safety, at each step: an artifact is written whole first, then its
completion is recorded (a set attribute, so a repeat adds nothing), then the next step is tried.
The job that records a stage's last chunk merges the chunks into the stage's artifact and marks
the stage DONE; the job that finds both stages DONE claims the fan-in. A crash anywhere redelivers
the job, which finds its chunk done (and goes on to the merge), the merge done (and goes on to the
fan-in), or nothing done (and recomputes); a duplicate or reordered chunk job changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.aws.clients import client
from agentflow.aws.items import RecordingItem, SessionItem
from agentflow.aws.ranged import S3RangeReader
from agentflow.errors import PermanentStageError
from agentflow.ids import now_iso, utcnow
from agentflow.schemas.messages import ChunkSpan, StageJob
from agentflow.services import recordings as recs
from agentflow.stages.common import (
    ChunkRun,
    Job,
    Stopwatch,
    artifact_key,
    get_json,
    open_job,
    put_json,
)

if TYPE_CHECKING:
    from agentflow.speech.audio import Source

log = logging.getLogger(__name__)

# compute(source, recording, session, chunk) -> the artifact of ``chunk``, or of the whole
# recording when ``chunk`` is None (a JSON-serialisable dict); ``source`` is the upload, seekable
Compute = Callable[["Source", RecordingItem, SessionItem, ChunkSpan | None], dict[str, Any]]
# merge(chunk artifacts in chunk order, recording, session) -> the stage's artifact
Merge = Callable[[list[dict[str, Any]], RecordingItem, SessionItem], dict[str, Any]]
# ready(recording, artifact) -> the (event type, data) announced once the artifact is stored
Ready = Callable[[RecordingItem, dict[str, Any]], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Analysis:
    """What one analysis stage adds to the shared shape."""

    stage: str
    artifact: str  # the stage's artifact, e.g. "transcript.json"
    compute: Compute
    merge: Merge
    ready: Ready | None = None

    def chunk_artifact(self, index: int) -> str:
        """Where chunk ``index``'s artifact goes, beside the stage's."""
        return f"chunks/{self.stage}-{index:04d}.json"


def run_analysis(record: SQSRecord, analysis: Analysis) -> None:
    """Run one analysis job (a chunk, or a whole recording) for the job in ``record``."""
    job = StageJob.model_validate_json(record.body)
    opened = open_job(job, statuses=("PROCESSING", "SUMMARIZING"))
    if opened is None:
        return
    stage, recording = analysis.stage, opened.recording
    index = job.chunk.index if job.chunk is not None else 0
    if recording.get("stages", {}).get(stage, {}).get("status") != "DONE":
        if index not in recs.chunks_done(recording, stage):
            computed = _compute(opened, job, analysis)
            if computed is None:
                return
            recording = computed
        if len(recs.chunks_done(recording, stage)) < job.chunks:
            return  # other chunks are still running; the last to finish merges
        merged = _merge(opened, recording, job, analysis)
        if merged is None:
            return
        recording = merged
    table, settings = opened.table, opened.settings
    if recs.claim_summarize(table, recording, job_id=job.job_id):
        # Claim, move, send, mark sent: a crash between any two redelivers this job, whose claim
        # still holds, so it sends again; the summarize stage is idempotent if that repeats a send.
        recs.transition(table, recording, to="SUMMARIZING", from_=("PROCESSING",))
        recs.send_stage_jobs(opened.sqs, recording, queues={"summarize": settings.summarize_queue_url})
        recs.mark_summarize_sent(table, recording)


@contextmanager
def _upload(bucket: str, key: str) -> Iterator[Source]:
    """The upload as a seekable file read by ranged GETs: a chunk job reads only its span (plus its
    context), and nothing is written to ``/tmp`` however large the upload."""
    s3 = client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    reader = S3RangeReader.of_head(s3, bucket=bucket, key=key, head=head)
    try:
        yield reader
    finally:
        reader.close()


def _compute(opened: Job, job: StageJob, analysis: Analysis) -> RecordingItem | None:
    recording, bucket = opened.recording, opened.settings.bucket_name
    index = job.chunk.index if job.chunk is not None else 0
    run = ChunkRun.start(opened.table, recording, analysis.stage, index)
    try:
        with _upload(bucket, recording["s3_key"]) as source:
            artifact = analysis.compute(source, recording, opened.session, job.chunk)
    except PermanentStageError as exc:
        reason = f"{job.where[0].upper()}{job.where[1:]}: {exc.message}" if job.where else exc.message
        opened.pipeline.fail(recording, stage=analysis.stage, reason=reason)
        return None
    except Exception as exc:
        run.retrying(exc)
        raise
    name = analysis.artifact if job.chunks == 1 else analysis.chunk_artifact(index)
    key = artifact_key(recording["recording_id"], name)
    put_json(bucket, key, artifact)
    return run.done(artifact=key)


def _merge(opened: Job, recording: RecordingItem, job: StageJob, analysis: Analysis) -> RecordingItem | None:
    """Every chunk is done: merge them into the stage's artifact, mark the stage DONE, announce it."""
    bucket, rid = opened.settings.bucket_name, recording["recording_id"]
    key = artifact_key(rid, analysis.artifact)
    clock = Stopwatch()
    fields: dict[str, Any] = {"artifact": key}
    if job.chunks == 1:
        artifact = get_json(bucket, key) if analysis.ready is not None else {}
    else:
        parts = [get_json(bucket, artifact_key(rid, analysis.chunk_artifact(i))) for i in range(job.chunks)]
        try:
            artifact = analysis.merge(parts, recording, opened.session)
        except PermanentStageError as exc:
            opened.pipeline.fail(recording, stage=analysis.stage, reason=f"Merging the chunks: {exc.message}")
            return None
        put_json(bucket, key, artifact)
        fields["merge_seconds"] = clock.seconds
    progress = recording.get("stages", {}).get(analysis.stage, {})
    runs = [run for run in progress.get("runs", {}).values() if run.get("seconds") is not None]
    fields["completed_at"] = now_iso()
    if progress.get("started_at"):  # wall time: the first chunk's start to the merge's end
        fields["seconds"] = (utcnow() - datetime.fromisoformat(str(progress["started_at"]))).total_seconds()
    if runs:
        fields["longest_chunk_seconds"] = max(float(run["seconds"]) for run in runs)
    updated = recs.record_stage_done(opened.table, recording, analysis.stage, fields)
    if analysis.ready is not None:
        event_type, data = analysis.ready(recording, artifact)
        opened.pipeline.emit(opened.session, event_type, data, event_key=f"{rid}:{event_type}")
    return updated
