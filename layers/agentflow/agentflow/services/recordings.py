"""Recordings: the upload grant and the pipeline's state machine.

PENDING_UPLOAD → UPLOADED → PROCESSING → SUMMARIZING → COMPLETED | FAILED. Every transition is a
conditional update, so a message delivered twice, or two stages finishing at once, cannot move a
recording twice; the fan-in enqueues exactly one summarize job.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.clients import client
from agentflow.errors import NotFoundError, ValidationError
from agentflow.ids import new_id, now_iso, utcnow
from agentflow.schemas.messages import Stage, StageJob

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ANALYSIS_STAGES = ("transcribe", "diarize")
ALLOWED_VIDEO_TYPES = frozenset({"video/webm", "video/mp4", "video/quicktime"})
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
    *,
    bucket: str,
    session: dict[str, Any],
    filename: str,
    content_type: str,
    max_bytes: int,
    expires_in: int,
    actor: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a PENDING_UPLOAD recording and its presigned POST; return ``(recording, post)``."""
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
    )
    post = client("s3").generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return recording, {**post, "expires_at": expires_at}


def get_recording(table: Table, recording_id: str, tenant_id: str) -> dict[str, Any]:
    """Return a live recording of ``tenant_id`` or raise ``NotFoundError``."""
    item = records.get_live(table, *recording_key(tenant_id, recording_id))
    if item is None:
        raise NotFoundError.of("Recording", recording_id)
    return item


def session_recordings(table: Table, session_id: str) -> list[dict[str, Any]]:
    """The live recordings of a session, oldest first."""
    items, _ = records.query_live(
        table,
        keys.session(session_id),
        sk_prefix=keys.RECORDING,
        index="gsi1",
        newest_first=False,
        limit=100,
    )
    return items


def transition(
    table: Table,
    recording: dict[str, Any],
    *,
    to: str,
    from_: tuple[str, ...],
    values: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Move a recording ``from_`` one of the given statuses ``to`` another; ``None`` if it was not in them."""
    try:
        return records.update(
            table,
            *recording_key(recording["tenant_id"], recording["recording_id"]),
            actor="pipeline",
            values={"status": to, **(values or {})},
            condition=Attr("status").is_in(list(from_)),
        )
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            return None
        raise


def start_processing(
    table: Table, recording: dict[str, Any], *, transcribe_queue: str, diarize_queue: str
) -> bool:
    """Fan out: UPLOADED → PROCESSING, then one job to each analysis stage. False if already started."""
    moved = transition(
        table, recording, to="PROCESSING", from_=("UPLOADED",), values={"processing_at": now_iso()}
    )
    if moved is None:
        return False
    send_stage_jobs(recording, queues={"transcribe": transcribe_queue, "diarize": diarize_queue})
    return True


def send_stage_jobs(recording: dict[str, Any], *, queues: dict[Stage, str]) -> None:
    """Queue one job per named stage for ``recording``."""
    sqs = client("sqs")
    for stage, url in queues.items():
        job = StageJob(
            job_id=f"{recording['recording_id']}:{stage}",
            stage=stage,
            tenant_id=recording["tenant_id"],
            session_id=recording["session_id"],
            recording_id=recording["recording_id"],
        )
        sqs.send_message(QueueUrl=url, MessageBody=job.model_dump_json())


def record_stage(
    table: Table, recording: dict[str, Any], stage: str, progress: dict[str, Any]
) -> dict[str, Any]:
    """Set ``stages.<stage>`` (progress, timings, errors) on a live recording; return the new item."""
    values = {k: (Decimal(str(round(v, 3))) if isinstance(v, float) else v) for k, v in progress.items()}
    result: dict[str, Any] = table.update_item(
        Key=_key(recording),
        UpdateExpression="SET stages.#s = :p, updated_at = :now, updated_by = :by",
        ExpressionAttributeNames={"#s": stage},
        ExpressionAttributeValues={":p": values, ":now": now_iso(), ":by": f"stage:{stage}"},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    return result


def _key(recording: dict[str, Any]) -> dict[str, str]:
    pk, sk = recording_key(recording["tenant_id"], recording["recording_id"])
    return {"pk": pk, "sk": sk}


def claim_summarize(table: Table, recording: dict[str, Any], *, job_id: str) -> bool:
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


def mark_summarize_sent(table: Table, recording: dict[str, Any]) -> None:
    """Record that the fan-in's summarize job is on its queue (no further claim succeeds)."""
    table.update_item(
        Key=_key(recording),
        UpdateExpression="SET summarize_sent = :t",
        ExpressionAttributeValues={":t": True},
    )


def mark_failed(table: Table, recording: dict[str, Any], *, stage: str, reason: str) -> dict[str, Any] | None:
    """Mark a recording FAILED with a human-readable reason; ``None`` if it already ended."""
    return transition(
        table,
        recording,
        to="FAILED",
        from_=("PENDING_UPLOAD", "UPLOADED", "PROCESSING", "SUMMARIZING"),
        values={"failure_reason": reason, "failed_stage": stage, "failed_at": now_iso()},
    )
