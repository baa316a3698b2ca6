"""The dead-letter handler: a message that exhausted its retries fails its recording, loudly.

The reason names the stage and the last error the stage recorded, so that no recording can stay
PROCESSING forever without saying why.

The stage comes from the message itself, never from the queue's name: CloudFormation names a
queue ``{stack}-{LogicalId}-{RANDOM}``, so a name says nothing reliable. A stage job names its
stage; an S3 event is an upload, which only ingest consumes; an assembly job is the assemble
stage's, about the one recording its session's tracks make (written as FAILED if the assembly died
before writing it, so the session still says why it has no summary). The tenant comes from the
upload's key (``recordings/{tenant}/…``), which the API wrote, not from anything in the event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from agentflow.aws import records
from agentflow.aws.clients import client
from agentflow.aws.items import ChunkRunItem, RecordingItem, StageProgress
from agentflow.schemas.messages import AssembleJob, StageJob
from agentflow.services import recordings as recs
from agentflow.services import tracks as trk
from agentflow.services.pipeline import create_pipeline_service
from agentflow.stages.common import context
from agentflow.stages.ingest import s3_objects

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

log = logging.getLogger(__name__)


class UnknownDeadLetterError(ValueError):
    """A dead-lettered message is no S3 event, stage job or assembly job (it stays in the DLQ)."""


@dataclass(frozen=True)
class DeadLetter:
    """What a dead-lettered message was about: the stage that gave up and its recordings' keys."""

    stage: str
    recordings: list[tuple[str, str]]  # (tenant_id, recording_id)
    session_id: str | None = None  # assemble: the session whose tracks make the recording
    chunk: int | None = None  # a chunk job of a chunked recording (issue 19): its index
    where: str = ""  # that chunk, for the reason ("chunk 3 of 12 (1200-1800 s)")


def is_s3_event(body: dict[str, Any]) -> bool:
    """True for an S3 notification (including the ``s3:TestEvent`` sent when one is set up)."""
    if body.get("Event") == "s3:TestEvent":
        return True
    found = body.get("Records")
    return isinstance(found, list) and any(
        isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in found
    )


def dead_letter_of(body: str) -> DeadLetter:
    """Read a dead-lettered message body: which stage failed, on which recordings.

    Raises:
        UnknownDeadLetterError: the body is no S3 event, stage job or assembly job.
    """
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as exc:
        raise UnknownDeadLetterError(f"not JSON: {body[:200]!r}") from exc
    if isinstance(parsed, dict) and is_s3_event(parsed):
        uploads = [recs.parse_upload_key(key) for _bucket, key, _size in s3_objects(body)]
        return DeadLetter("ingest", [(k.tenant_id, k.recording_id) for k in uploads if k is not None])
    try:
        job = StageJob.model_validate(parsed)
    except ValueError:
        pass
    else:
        index = job.chunk.index if job.chunk is not None and job.chunks > 1 else None
        return DeadLetter(job.stage, [(job.tenant_id, job.recording_id)], chunk=index, where=job.where)
    try:
        assembly = AssembleJob.model_validate(parsed)
    except ValueError as exc:
        raise UnknownDeadLetterError(f"no S3 event, stage job or assembly job: {body[:200]!r}") from exc
    rid = trk.tracks_recording_id(assembly.session_id)
    return DeadLetter("assemble", [(assembly.tenant_id, rid)], session_id=assembly.session_id)


def _unassembled(table: Table, *, tenant_id: str, session_id: str, recording_id: str) -> RecordingItem | None:
    """The tracks' recording, written PENDING_UPLOAD (to be failed) if the assembly never wrote it."""
    from agentflow.stages.assemble import FILENAME  # deferred: it imports PyAV and numpy

    try:
        records.put_new(
            table,
            recs.new_recording_item(
                tenant_id=tenant_id,
                session_id=session_id,
                recording_id=recording_id,
                s3_key=f"recordings/{tenant_id}/{session_id}/{recording_id}/{FILENAME}",
                filename=FILENAME,
                content_type="audio/flac",
                source="tracks",
            ),
            actor="stage:failures",
        )
    except ClientError as exc:
        if not records.is_conditional_failure(exc):
            raise
    return records.get_live(table, *recs.recording_key(tenant_id, recording_id), kind=RecordingItem)


def handle_record(record: SQSRecord) -> None:
    """Fail the recording(s) a dead-lettered message was about."""
    settings, table = context()
    letter = dead_letter_of(record.body)
    pipeline = create_pipeline_service(table, client("sqs"), settings)
    for tenant_id, recording_id in letter.recordings:
        recording = records.get_live(table, *recs.recording_key(tenant_id, recording_id), kind=RecordingItem)
        if recording is None and letter.session_id is not None:
            recording = _unassembled(
                table, tenant_id=tenant_id, session_id=letter.session_id, recording_id=recording_id
            )
        if recording is None:
            log.warning("dead letter for %s/%s: no such recording", tenant_id, recording_id)
            continue
        stage_progress = recording.get("stages", {}).get(letter.stage, {})
        progress: StageProgress | ChunkRunItem = stage_progress
        if letter.chunk is not None:  # the chunk's own attempts and error, not the stage's
            progress = stage_progress.get("runs", {}).get(str(letter.chunk), {})
        last_error = progress.get("last_error") or "no error was recorded"
        # The stage counts its own attempts; the message's receive count also includes this one.
        attempts = int(progress.get("attempts") or int(record.attributes.approximate_receive_count) - 1)
        stage = f"{letter.stage} stage" + (f" ({letter.where})" if letter.where else "")
        reason = f"The {stage} failed after {attempts} attempts; last error: {last_error}"
        pipeline.fail(recording, stage=letter.stage, reason=reason)
