"""Recordings: the upload grant and the pipeline's state machine.

PENDING_UPLOAD → UPLOADED → PROCESSING → SUMMARIZING → COMPLETED | FAILED. Every transition is a
conditional update, so a message delivered twice, or two stages finishing at once, cannot move a
recording twice; the fan-in enqueues exactly one summarize job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.items import ChunkItem, RecordingItem, SessionItem
from agentflow.errors import NotFoundError, ValidationError
from agentflow.ids import new_id, now_iso, utcnow
from agentflow.schemas.messages import ChunkSpan, Stage, StageJob

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

ANALYSIS_STAGES = ("transcribe", "diarize")
ALLOWED_VIDEO_TYPES = frozenset({"video/webm", "video/mp4", "video/quicktime"})
# Where each analysis stage keeps the set of its stored chunks (a set attribute: a repeat adds nothing).
_DONE_SETS: dict[str, Literal["transcribe_chunks_done", "diarize_chunks_done"]] = {
    "transcribe": "transcribe_chunks_done",
    "diarize": "diarize_chunks_done",
}
_KEY_PATTERN = re.compile(r"^recordings/(ten_[0-9a-z]+)/(ses_[0-9a-z]+)/(rec_[0-9a-z]+)/(.+)$")


def recording_key(tenant_id: str, recording_id: str) -> tuple[str, str]:
    """The (pk, sk) of a recording."""
    return keys.tenant_pk(tenant_id), keys.recording(recording_id)


def content_type_allowed(content_type: str) -> bool:
    """Audio of any kind, or the video containers browsers and phones record."""
    base = content_type.split(";", 1)[0].strip().lower()
    return (base.startswith("audio/") and len(base) > len("audio/")) or base in ALLOWED_VIDEO_TYPES


def safe_filename(name: str) -> str:
    """Keep a readable file name (Unicode allowed) without path parts or control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return name[:120] or "recording"


@dataclass(frozen=True)
class UploadKey:
    """What an object key under ``recordings/`` names."""

    tenant_id: str
    session_id: str
    recording_id: str
    filename: str


def parse_upload_key(key: str) -> UploadKey | None:
    """Parse ``recordings/{tenant}/{session}/{recording}/{filename}``; ``None`` if it is not one."""
    match = _KEY_PATTERN.match(key)
    return UploadKey(*match.groups()) if match else None


class UploadGrant(TypedDict):
    """The presigned POST of an upload: the form's URL and fields, and until when it is valid."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


def new_recording_item(
    *,
    tenant_id: str,
    session_id: str,
    recording_id: str,
    s3_key: str,
    filename: str,
    content_type: str,
    **extra: Any,
) -> dict[str, Any]:
    """A PENDING_UPLOAD recording as stored: the one shape every writer of a recording starts from.

    Args:
        tenant_id: The session's tenant.
        session_id: The session the recording belongs to.
        recording_id: Its id (``rec_…``).
        s3_key: Where the upload lands (``recordings/{tenant}/{session}/{recording}/{filename}``).
        filename: The stored file name.
        content_type: The upload's content type.
        **extra: Further attributes (limits, the tracks' assembly details).
    """
    pk, sk = recording_key(tenant_id, recording_id)
    return {
        "pk": pk,
        "sk": sk,
        "entity": "recording",
        "gsi1pk": keys.session(session_id),
        "gsi1sk": keys.recording(recording_id),
        "tenant_id": tenant_id,
        "session_id": session_id,
        "recording_id": recording_id,
        "status": "PENDING_UPLOAD",
        "s3_key": s3_key,
        "filename": filename,
        "content_type": content_type,
        "stages": {},
        **extra,
    }


def create_upload(
    table: Table,
    s3: S3Client,
    *,
    bucket: str,
    session: SessionItem,
    filename: str,
    content_type: str,
    max_bytes: int,
    expires_in: int,
    actor: str,
) -> tuple[RecordingItem, UploadGrant]:
    """Create a PENDING_UPLOAD recording and its presigned POST (signed by ``s3``); return ``(recording, post)``."""
    if not content_type_allowed(content_type):
        raise ValidationError(
            f"content type {content_type!r} is not accepted: send audio/* or video/webm, video/mp4, "
            "video/quicktime",
            field="content_type",
        )
    tenant_id, session_id = session["tenant_id"], session["session_id"]
    recording_id = new_id("rec")
    key = f"recordings/{tenant_id}/{session_id}/{recording_id}/{safe_filename(filename)}"
    expires_at = utcnow() + timedelta(seconds=expires_in)
    recording = records.put_new(
        table,
        new_recording_item(
            tenant_id=tenant_id,
            session_id=session_id,
            recording_id=recording_id,
            s3_key=key,
            filename=safe_filename(filename),
            content_type=content_type,
            max_bytes=max_bytes,
            upload_expires_at=expires_at.isoformat(),
        ),
        actor=actor,
        kind=RecordingItem,
    )
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return recording, {"url": post["url"], "fields": post["fields"], "expires_at": expires_at}


def get_recording(table: Table, *, tenant_id: str, recording_id: str) -> RecordingItem:
    """Return a live recording of ``tenant_id`` or raise ``NotFoundError``."""
    item = records.get_live(table, *recording_key(tenant_id, recording_id), kind=RecordingItem)
    if item is None:
        raise NotFoundError.of("Recording", recording_id)
    return item


def session_recordings(table: Table, session_id: str) -> list[RecordingItem]:
    """The live recordings of a session, oldest first."""
    items, _ = records.query_live(
        table,
        keys.session(session_id),
        sk_prefix=keys.RECORDING,
        index="gsi1",
        newest_first=False,
        limit=100,
        kind=RecordingItem,
    )
    return items


def transition(
    table: Table,
    recording: RecordingItem,
    *,
    to: str,
    from_: tuple[str, ...],
    values: Mapping[str, Any] | None = None,
) -> RecordingItem | None:
    """Move a recording ``from_`` one of the given statuses ``to`` another; ``None`` if it was not in them."""
    try:
        return records.update(
            table,
            *recording_key(recording["tenant_id"], recording["recording_id"]),
            actor="pipeline",
            values={"status": to, **(values or {})},
            condition=Attr("status").is_in(list(from_)),
            kind=RecordingItem,
        )
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            return None
        raise


def recording_chunks(recording: RecordingItem) -> list[ChunkSpan]:
    """The recording's chunk plan (set by ingest); one chunk, the whole recording, when it has none."""
    stored = recording.get("chunks")
    if not stored:
        return [ChunkSpan(index=0, start=0.0, end=float(recording.get("duration_seconds") or 0))]
    return [ChunkSpan(index=int(c["index"]), start=float(c["start"]), end=float(c["end"])) for c in stored]


def chunks_value(chunks: list[ChunkSpan]) -> list[ChunkItem]:
    """The plan as stored on the recording (DynamoDB numbers are Decimal)."""
    return [
        {"index": c.index, "start": Decimal(str(round(c.start, 3))), "end": Decimal(str(round(c.end, 3)))}
        for c in chunks
    ]


def start_processing(
    table: Table, sqs: SQSClient, recording: RecordingItem, *, transcribe_queue: str, diarize_queue: str
) -> bool:
    """Fan out: UPLOADED → PROCESSING, then one job per chunk to each analysis stage (sent with ``sqs``).

    False if already started. Each analysis stage starts ``QUEUED`` with ``chunks: {total, done}``.
    """
    moved = transition(
        table, recording, to="PROCESSING", from_=("UPLOADED",), values={"processing_at": now_iso()}
    )
    if moved is None:
        return False
    chunks = recording_chunks(moved)
    queued = {"status": "QUEUED", "chunks": {"total": len(chunks), "done": 0}, "runs": {}}
    names = {f"#{stage}": stage for stage in ANALYSIS_STAGES}
    table.update_item(
        Key=_key(moved),
        UpdateExpression="SET "
        + ", ".join(f"stages.#{s} = if_not_exists(stages.#{s}, :q)" for s in ANALYSIS_STAGES),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={":q": queued},
    )
    queues: dict[Stage, str] = {"transcribe": transcribe_queue, "diarize": diarize_queue}
    for stage, url in queues.items():
        _send_jobs(sqs, url, [_job(moved, stage, chunk, total=len(chunks)) for chunk in chunks])
    return True


def _job(recording: RecordingItem, stage: Stage, chunk: ChunkSpan | None, *, total: int = 1) -> StageJob:
    job_id = f"{recording['recording_id']}:{stage}"
    return StageJob(
        job_id=job_id if total == 1 or chunk is None else f"{job_id}:{chunk.index}",
        stage=stage,
        tenant_id=recording["tenant_id"],
        session_id=recording["session_id"],
        recording_id=recording["recording_id"],
        chunk=chunk if total > 1 else None,
        chunks=total,
    )


def _send_jobs(sqs: SQSClient, queue_url: str, jobs: list[StageJob]) -> None:
    """SendMessageBatch, ten at a time (SQS's limit); a partial failure raises, so the caller retries."""
    for first in range(0, len(jobs), 10):
        batch = jobs[first : first + 10]
        result = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": job.model_dump_json()} for i, job in enumerate(batch)],
        )
        if result.get("Failed"):
            failed = result["Failed"][0]
            raise RuntimeError(
                f"SQS refused {len(result['Failed'])} job(s): {failed.get('Code')} {failed.get('Message')}"
            )


def send_stage_jobs(sqs: SQSClient, recording: RecordingItem, *, queues: dict[Stage, str]) -> None:
    """Queue one whole-recording job per named stage for ``recording`` (the fan-in's summarize)."""
    for stage, url in queues.items():
        _send_jobs(sqs, url, [_job(recording, stage, None)])


def record_stage(
    table: Table, recording: RecordingItem, stage: str, progress: Mapping[str, Any]
) -> RecordingItem:
    """Set ``stages.<stage>`` (progress, timings, errors) on a live recording; return the new item."""
    values = _numbers(progress)
    result = table.update_item(
        Key=_key(recording),
        UpdateExpression="SET stages.#s = :p, updated_at = :now, updated_by = :by",
        ExpressionAttributeNames={"#s": stage},
        ExpressionAttributeValues={":p": values, ":now": now_iso(), ":by": f"stage:{stage}"},
        ReturnValues="ALL_NEW",
    )
    return records.as_item(result["Attributes"], kind=RecordingItem)


def chunks_done(recording: RecordingItem, stage: str) -> set[int]:
    """The chunks of ``stage`` whose artifact is stored (a set attribute: a repeat adds nothing)."""
    return {int(index) for index in recording.get(_DONE_SETS[stage]) or ()}


def record_chunk_start(
    table: Table, recording: RecordingItem, stage: str, index: int, *, started_at: str
) -> int:
    """Chunk ``index`` of ``stage`` is RUNNING (attempt n + 1 of it; one more for the stage). Returns n + 1."""
    previous = recording.get("stages", {}).get(stage, {}).get("runs", {}).get(str(index), {})
    attempts = int(previous.get("attempts", 0)) + 1
    table.update_item(
        Key=_key(recording),
        UpdateExpression=(
            "SET stages.#s.#st = :running, stages.#s.started_at = if_not_exists(stages.#s.started_at, :now),"
            " stages.#s.attempts = if_not_exists(stages.#s.attempts, :zero) + :one, stages.#s.runs.#c = :run,"
            " updated_at = :now, updated_by = :by"
        ),
        ExpressionAttributeNames={"#s": stage, "#st": "status", "#c": str(index)},
        ExpressionAttributeValues={
            ":running": "RUNNING",
            ":now": started_at,
            ":zero": 0,
            ":one": 1,
            ":run": {"status": "RUNNING", "started_at": started_at, "attempts": attempts},
            ":by": f"stage:{stage}",
        },
    )
    return attempts


def record_chunk_retrying(
    table: Table, recording: RecordingItem, stage: str, index: int, *, error: str
) -> None:
    """Chunk ``index`` failed with ``error`` and goes back to the queue: the stage is RETRYING."""
    table.update_item(
        Key=_key(recording),
        UpdateExpression=(
            "SET stages.#s.#st = :retrying, stages.#s.last_error = :e,"
            " stages.#s.runs.#c.#st = :retrying, stages.#s.runs.#c.last_error = :e, updated_at = :now"
        ),
        ExpressionAttributeNames={"#s": stage, "#st": "status", "#c": str(index)},
        ExpressionAttributeValues={":retrying": "RETRYING", ":e": error, ":now": now_iso()},
    )


def record_chunk_done(
    table: Table, recording: RecordingItem, stage: str, index: int, run: Mapping[str, Any]
) -> RecordingItem:
    """Chunk ``index``'s artifact is stored: add it to the stage's done set; return the new item.

    ``stages.<stage>.chunks.done`` follows the set's size and only ever grows, so two chunks
    finishing at once, or a chunk delivered twice, leave the count right.
    """
    added = table.update_item(
        Key=_key(recording),
        UpdateExpression="SET stages.#s.runs.#c = :run, updated_at = :now ADD #done :index",
        ExpressionAttributeNames={"#s": stage, "#c": str(index), "#done": _DONE_SETS[stage]},
        ExpressionAttributeValues={":run": _numbers(run), ":now": now_iso(), ":index": {str(index)}},
        ReturnValues="ALL_NEW",
    )
    updated = records.as_item(added["Attributes"], kind=RecordingItem)
    done = len(chunks_done(updated, stage))
    try:
        counted = table.update_item(
            Key=_key(recording),
            UpdateExpression="SET stages.#s.chunks.done = :n",
            ConditionExpression=Attr(f"stages.{stage}.chunks.done").lt(done),
            ExpressionAttributeNames={"#s": stage},
            ExpressionAttributeValues={":n": done},
            ReturnValues="ALL_NEW",
        )
        updated = records.as_item(counted["Attributes"], kind=RecordingItem)
    except ClientError as exc:
        if not records.is_conditional_failure(exc):
            raise
    return updated


def record_stage_done(
    table: Table, recording: RecordingItem, stage: str, fields: Mapping[str, Any]
) -> RecordingItem:
    """Every chunk of ``stage`` is done and merged: DONE with ``fields`` (timings, the artifact)."""
    names = {"#s": stage, "#st": "status", **{f"#f{i}": k for i, k in enumerate(fields)}}
    values = {":done": "DONE", ":now": now_iso()}
    sets = ["stages.#s.#st = :done", "updated_at = :now"]
    for i, value in enumerate(_numbers(fields).values()):
        values[f":f{i}"] = value
        sets.append(f"stages.#s.#f{i} = :f{i}")
    result = table.update_item(
        Key=_key(recording),
        UpdateExpression="SET " + ", ".join(sets),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )
    return records.as_item(result["Attributes"], kind=RecordingItem)


def _numbers(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (Decimal(str(round(v, 3))) if isinstance(v, float) else v) for k, v in values.items()}


def _key(recording: RecordingItem) -> dict[str, str]:
    pk, sk = recording_key(recording["tenant_id"], recording["recording_id"])
    return {"pk": pk, "sk": sk}


def claim_summarize(table: Table, recording: RecordingItem, *, job_id: str) -> bool:
    """Fan-in: True for exactly one job once every analysis stage is DONE, until the job is sent.

    The claim names the job that won it, so that job — redelivered after a crash anywhere before
    :func:`mark_summarize_sent` — may claim again and send; any other job is refused, and so is
    everyone once the summarize job is known to be sent.
    """
    cond = Attr("summarize_claimed_by").not_exists() | Attr("summarize_claimed_by").eq(job_id)
    cond = cond & Attr("summarize_sent").not_exists() & Attr("status").is_in(["PROCESSING", "SUMMARIZING"])
    for stage in ANALYSIS_STAGES:
        cond = cond & Attr(f"stages.{stage}.status").eq("DONE")
    try:
        table.update_item(
            Key=_key(recording),
            UpdateExpression="SET summarize_claimed_by = :j",
            ExpressionAttributeValues={":j": job_id},
            ConditionExpression=cond,
        )
        return True
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            return False
        raise


def mark_summarize_sent(table: Table, recording: RecordingItem) -> None:
    """Record that the fan-in's summarize job is on its queue (no further claim succeeds)."""
    table.update_item(
        Key=_key(recording),
        UpdateExpression="SET summarize_sent = :t",
        ExpressionAttributeValues={":t": True},
    )


def mark_failed(table: Table, recording: RecordingItem, *, stage: str, reason: str) -> RecordingItem | None:
    """Mark a recording FAILED with a human-readable reason; ``None`` if it already ended."""
    return transition(
        table,
        recording,
        to="FAILED",
        from_=("PENDING_UPLOAD", "UPLOADED", "PROCESSING", "SUMMARIZING"),
        values={"failure_reason": reason, "failed_stage": stage, "failed_at": now_iso()},
    )
