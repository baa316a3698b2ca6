"""Helpers every queue stage shares: parsing jobs, temp downloads, artifacts, timing."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentflow.aws import records
from agentflow.aws.clients import client, table
from agentflow.aws.items import RecordingItem, SessionItem
from agentflow.ids import now_iso
from agentflow.schemas.messages import StageJob
from agentflow.services import recordings as recs
from agentflow.services.pipeline import PipelineService, create_pipeline_service
from agentflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs.client import SQSClient

log = logging.getLogger(__name__)


def artifact_key(recording_id: str, name: str) -> str:
    """``artifacts/{recording_id}/{name}``."""
    return f"artifacts/{recording_id}/{name}"


def put_json(bucket: str, key: str, data: Any) -> None:
    """Write one JSON artifact in a single PUT (readers see all of it or none)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def get_json(bucket: str, key: str) -> Any:
    """Read one JSON artifact."""
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def context() -> tuple[Settings, Table]:
    """The settings and the table, for a stage invocation."""
    settings = get_settings()
    return settings, table(settings.table_name)


class Stopwatch:
    """Seconds since construction."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Elapsed seconds."""
        return time.perf_counter() - self.started


@dataclass
class StageRun:
    """One attempt of a stage, recorded in the recording's ``stages.<stage>``, one shape for all.

    ``RUNNING`` (``started_at``, ``attempts``) when it starts, then ``RETRYING`` with the
    ``last_error`` (the job will be redelivered), or ``DONE`` with ``completed_at``, ``seconds`` and
    the stage's own fields (its ``artifact``).
    """

    table: Table
    recording: RecordingItem
    stage: str
    attempts: int
    started_at: str
    clock: Stopwatch

    @classmethod
    def start(cls, table: Table, recording: RecordingItem, stage: str) -> StageRun:
        """Record attempt n + 1 of ``stage`` as RUNNING."""
        previous = recording.get("stages", {}).get(stage, {})
        run = cls(table, recording, stage, int(previous.get("attempts", 0)) + 1, now_iso(), Stopwatch())
        recs.record_stage(table, recording, stage, run._progress("RUNNING"))
        return run

    def retrying(self, exc: BaseException) -> None:
        """Record that this attempt failed with ``exc`` and the job goes back to the queue."""
        error = f"{exc.__class__.__name__}: {exc}"[:500]
        recs.record_stage(
            self.table, self.recording, self.stage, self._progress("RETRYING", last_error=error)
        )

    def done(self, **fields: Any) -> RecordingItem:
        """Record completion (with ``fields``, e.g. ``artifact``); return the updated recording."""
        progress = self._progress("DONE", completed_at=now_iso(), seconds=self.clock.seconds, **fields)
        return recs.record_stage(self.table, self.recording, self.stage, progress)

    def _progress(self, status: str, **fields: Any) -> dict[str, Any]:
        return {"status": status, "started_at": self.started_at, "attempts": self.attempts, **fields}


@dataclass
class ChunkRun:
    """One attempt at one chunk of an analysis stage (issue 19; a whole recording is chunk 0 of 1).

    Recorded under ``stages.<stage>.runs.<index>`` (``RUNNING``, then ``RETRYING`` with the error,
    or ``DONE`` with its seconds) while ``stages.<stage>`` keeps the stage's own view: its status,
    first start, attempts over all chunks, last error, and ``chunks: {total, done}``.
    """

    table: Table
    recording: RecordingItem
    stage: str
    index: int
    attempts: int
    started_at: str
    clock: Stopwatch

    @classmethod
    def start(cls, table: Table, recording: RecordingItem, stage: str, index: int) -> ChunkRun:
        """Record the attempt as RUNNING."""
        started_at = now_iso()
        attempts = recs.record_chunk_start(table, recording, stage, index, started_at=started_at)
        return cls(table, recording, stage, index, attempts, started_at, Stopwatch())

    def retrying(self, exc: BaseException) -> None:
        """Record that this attempt failed with ``exc`` and the job goes back to the queue."""
        error = f"{exc.__class__.__name__}: {exc}"[:500]
        recs.record_chunk_retrying(self.table, self.recording, self.stage, self.index, error=error)

    def done(self, **fields: Any) -> RecordingItem:
        """Record the chunk's artifact as stored (with ``fields``); return the updated recording."""
        run = {
            "status": "DONE",
            "started_at": self.started_at,
            "attempts": self.attempts,
            "completed_at": now_iso(),
            "seconds": self.clock.seconds,
            **fields,
        }
        return recs.record_chunk_done(self.table, self.recording, self.stage, self.index, run)


@dataclass(frozen=True)
class Job:
    """What a stage needs to work on one recording."""

    settings: Settings
    table: Table
    sqs: SQSClient
    pipeline: PipelineService
    recording: RecordingItem
    session: SessionItem


def open_job(job: StageJob, *, statuses: tuple[str, ...]) -> Job | None:
    """Load the job's recording and session; ``None`` (logged) when there is nothing to do.

    A recording that is gone, or not in one of ``statuses`` (already finished, say), makes a
    redelivered or late job a no-op rather than an error.
    """
    return open_recording(
        tenant_id=job.tenant_id,
        session_id=job.session_id,
        recording_id=job.recording_id,
        statuses=statuses,
        what=f"job {job.job_id}",
    )


def open_recording(
    *, tenant_id: str, session_id: str, recording_id: str, statuses: tuple[str, ...] | None, what: str
) -> Job | None:
    """Load a live recording (in one of ``statuses``, or any) and its session; ``None`` (logged, as
    being about ``what``) when either is missing or the recording is in another status."""
    settings, db = context()
    recording = records.get_live(db, *recs.recording_key(tenant_id, recording_id), kind=RecordingItem)
    if recording is None or (statuses is not None and recording["status"] not in statuses):
        log.info("%s: recording is %s, nothing to do", what, recording and recording["status"])
        return None
    sqs = client("sqs")
    pipeline = create_pipeline_service(db, sqs, settings)
    session = pipeline.get_session_any(tenant_id=tenant_id, session_id=session_id)
    if session is None:
        log.warning("%s: session %s not found", what, session_id)
        return None
    return Job(settings=settings, table=db, sqs=sqs, pipeline=pipeline, recording=recording, session=session)
