"""Per-participant tracks: opened, granted part by part, listed for resume, completed (docs/CALL.md).

Each MediaRecorder chunk (one ``timeslice``, ≤ 10 s) is its own object
``tracks/{tenant}/{session}/{role}/{track_id}/{part:06d}.{ext}``, written once with a presigned PUT
whose signature binds its content type, its exact length and ``If-None-Match: *`` (S3 refuses a
second write of the same part with 412). S3 multipart parts cannot carry this: every part but the
last must be ≥ 5 MiB (``EntityTooSmall`` at Complete; moto 5.2.5 enforces it too), and a 5 s Opus
chunk is ~20 KB. The assembler (``agentflow.stages.assemble``) joins a track's parts in order.

A track's limits (content type, bytes per part, part numbers up to the duration limit) are checked
on every grant and again when the parts are assembled.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.items import RecordingItem, Role, SessionItem, TrackItem
from agentflow.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from agentflow.ids import new_id, now_iso, utcnow
from agentflow.schemas.messages import AssembleJob
from agentflow.schemas.tracks import CreateTrackRequest, PartSize
from agentflow.services.recordings import recording_key
from agentflow.services.webhooks import MAX_SQS_DELAY_SECONDS, emit_event
from agentflow.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import QueryInputTableQueryTypeDef
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

log = logging.getLogger(__name__)

ROLES: tuple[Role, Role] = ("host", "client")  # channel 0, channel 1 of the built recording
RECORDING, COMPLETED = "RECORDING", "COMPLETED"

# Base type → part file extension, per kind. What Chrome (webm), Firefox (ogg for audio) and
# Safari (mp4) record; the codecs parameter is free but plain.
CONTENT_TYPES: dict[str, dict[str, str]] = {
    "audio": {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "mp4"},
    "video": {"video/webm": "webm", "video/mp4": "mp4"},
}
_CONTENT_TYPE = re.compile(r'^([a-z]+/[a-z0-9]+)\s*(?:;\s*codecs\s*=\s*"?[a-z0-9.,\s]+"?\s*)?$')
_PART_NAME = re.compile(r"^(\d{6})\.(webm|ogg|mp4)$")
# A recorder's start may be stamped a little ahead of the server's clock (the estimate's error).
_FUTURE_SLACK_MS = 10_000


def part_extension(kind: str, content_type: str) -> str:
    """The part file extension for ``content_type``, which must suit ``kind``.

    Raises:
        ValidationError: the type is not one the allow-list accepts for this kind.
    """
    match = _CONTENT_TYPE.match(content_type.strip().lower())
    allowed = CONTENT_TYPES.get(kind, {})
    if match is None or match.group(1) not in allowed:
        raise ValidationError(
            f"content type {content_type!r} is not accepted for a {kind} track: send one of "
            f"{', '.join(sorted(allowed))} (a codecs parameter is allowed)",
            field="content_type",
        )
    return allowed[match.group(1)]


def max_part_number(settings: Settings, timeslice_ms: int) -> int:
    """The highest part number of a track: the duration limit divided into timeslices."""
    return math.ceil(settings.max_duration_seconds * 1000 / timeslice_ms)


def max_part_bytes(settings: Settings, kind: str) -> int:
    """The byte limit of one part of a ``kind`` track."""
    return settings.track_max_part_bytes_audio if kind == "audio" else settings.track_max_part_bytes_video


def track_prefix(track: TrackItem) -> str:
    """The folder of a track's parts."""
    return f"tracks/{track['tenant_id']}/{track['session_id']}/{track['role']}/{track['track_id']}/"


def part_key(track: TrackItem, part_number: int) -> str:
    """The object key of one part."""
    return f"{track_prefix(track)}{part_number:06d}.{track['extension']}"


def part_number_of(track: TrackItem, key: str) -> int | None:
    """The part number an object key names, or ``None`` when it is not a part of ``track``."""
    prefix = track_prefix(track)
    if not key.startswith(prefix):
        return None
    match = _PART_NAME.match(key[len(prefix) :])
    if match is None or match.group(2) != track["extension"]:
        return None
    return int(match.group(1))


def tracks_recording_id(session_id: str) -> str:
    """The id of the one recording built from a session's tracks (``ses_X`` → ``rec_X``)."""
    return f"rec_{session_id.split('_', 1)[1]}"


def session_tracks(table: Table, session_id: str, *, role: Role | None = None) -> list[TrackItem]:
    """The live tracks of a session (or of one participant), by role then start time."""
    prefix = keys.TRACK + (f"{role}#" if role else "")
    items: list[TrackItem] = []
    start: records.Cursor | None = None
    while True:
        kwargs: QueryInputTableQueryTypeDef = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(keys.session(session_id))
            & Key("gsi1sk").begins_with(prefix),
            "FilterExpression": Attr("status").ne(records.DELETED),
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = table.query(**kwargs)
        items.extend(records.as_item(item, kind=TrackItem) for item in page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def stored_parts(s3: S3Client, bucket: str, track: TrackItem) -> list[tuple[int, int]]:
    """``(part_number, size_bytes)`` of every part of ``track`` in the bucket, in order."""
    found: dict[int, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=track_prefix(track)):
        for obj in page.get("Contents", []):
            number = part_number_of(track, obj["Key"])
            if number is not None:
                found[number] = int(obj["Size"])
    return sorted(found.items())


def send_assemble_job(
    sqs: SQSClient,
    settings: Settings,
    session: SessionItem,
    *,
    trigger: Literal["ended", "completed", "grace"],
    suffix: str = "",
    delay: int = 0,
) -> None:
    """Queue one assembly check for ``session`` (``delay`` seconds, at most SQS's 900)."""
    job = AssembleJob(
        job_id=f"{session['session_id']}:assemble:{trigger}{suffix}",
        tenant_id=session["tenant_id"],
        session_id=session["session_id"],
        trigger=trigger,
    )
    sqs.send_message(
        QueueUrl=settings.assemble_queue_url,
        MessageBody=job.model_dump_json(),
        DelaySeconds=max(0, min(delay, MAX_SQS_DELAY_SECONDS)),
    )


def schedule_on_end(table: Table, sqs: SQSClient, settings: Settings, session: SessionItem) -> bool:
    """After a session ends: check its tracks now, and once more when the grace period is over.

    Returns:
        False when the session has no audio track (nothing to build).
    """
    if not any(t["kind"] == "audio" for t in session_tracks(table, session["session_id"])):
        return False
    send_assemble_job(sqs, settings, session, trigger="ended")
    send_assemble_job(sqs, settings, session, trigger="grace", delay=settings.track_grace_seconds)
    return True


class PartGrant(TypedDict):
    """A presigned PUT for one part, and the headers its signature binds."""

    part_number: int
    url: str
    headers: dict[str, str]
    expires_at: datetime


class CreateTrack(Protocol):
    """Open a track for ``role`` (a recorder just started); raise if the session or limits forbid it."""

    def __call__(
        self, session: SessionItem, role: Role, body: CreateTrackRequest, *, actor: str
    ) -> TrackItem: ...


class GetTrack(Protocol):
    """A track of ``session``; a join token (``role``) reaches only its own participant's (``None``: any)."""

    def __call__(self, session: SessionItem, *, role: Role | None, track_id: str) -> TrackItem: ...


class ListTracks(Protocol):
    """The session's tracks: one participant's (join token) or everyone's (API key, ``None``)."""

    def __call__(self, session: SessionItem, role: Role | None) -> list[TrackItem]: ...


class GrantParts(Protocol):
    """Presigned PUTs for ``parts``, each bound to its number, exact size and the track's type."""

    def __call__(self, session: SessionItem, track: TrackItem, parts: list[PartSize]) -> list[PartGrant]: ...


class ListParts(Protocol):
    """``(part_number, size_bytes)`` of the parts of ``track`` already stored."""

    def __call__(self, track: TrackItem) -> list[tuple[int, int]]: ...


class CompleteTrack(Protocol):
    """Mark ``track`` complete after ``part_count`` parts; idempotent for the same count."""

    def __call__(
        self, session: SessionItem, track: TrackItem, *, part_count: int, actor: str
    ) -> TrackItem: ...


@dataclass(frozen=True)
class TrackService:
    """Operations of one participant's browser on its own tracks (join token) or a tenant's (API key)."""

    create_track: CreateTrack
    get_track: GetTrack
    list_tracks: ListTracks
    grant_parts: GrantParts
    list_parts: ListParts
    complete_track: CompleteTrack


def create_track_service(
    table: Table, settings: Settings, *, s3: S3Client, presigner: S3Client, sqs: SQSClient
) -> TrackService:
    """Build the track operations over ``table`` and the recordings bucket of ``settings``.

    Args:
        table: The DynamoDB table resource.
        settings: The bucket, the queues and the tracks' limits.
        s3: Lists the parts stored.
        presigner: Signs the parts' PUT URLs (``aws.clients.presigner``: SigV4, which binds the
            headers a part URL must carry).
        sqs: Queues assembly checks and the ``track.uploaded`` delivery.
    """
    bucket = settings.bucket_name

    def create_track(session: SessionItem, role: Role, body: CreateTrackRequest, *, actor: str) -> TrackItem:
        """Open a track for ``role`` (a recorder just started); raise if the session or limits forbid it."""
        if session["status"] != "scheduled":
            raise ConflictError(
                f"Session {session['session_id']} has ended: tracks open only during the call"
            )
        extension = part_extension(body.kind, body.content_type)
        now_ms = int(time.time() * 1000)
        if body.started_at_server_ms > now_ms + max(_FUTURE_SLACK_MS, body.clock_error_ms):
            raise ValidationError(
                "started_at_server_ms lies in the future of the server's clock: sync the clock first",
                field="started_at_server_ms",
            )
        if body.started_at_server_ms < now_ms - int(settings.max_duration_seconds * 1000):
            raise ValidationError(
                "started_at_server_ms is older than the longest recording allowed",
                field="started_at_server_ms",
            )
        if len(session_tracks(table, session["session_id"], role=role)) >= settings.track_max_per_participant:
            raise ConflictError(
                f"The {role} already opened {settings.track_max_per_participant} tracks in this session"
            )
        track_id = new_id("trk")
        return records.put_new(
            table,
            {
                "pk": keys.tenant_pk(session["tenant_id"]),
                "sk": keys.track(track_id),
                "entity": "track",
                "gsi1pk": keys.session(session["session_id"]),
                "gsi1sk": keys.track_gsi1sk(role, body.started_at_server_ms, track_id),
                "tenant_id": session["tenant_id"],
                "session_id": session["session_id"],
                "track_id": track_id,
                "role": role,
                "kind": body.kind,
                "content_type": body.content_type,
                "extension": extension,
                "timeslice_ms": body.timeslice_ms,
                "started_at_server_ms": body.started_at_server_ms,
                "clock_error_ms": body.clock_error_ms,
                "max_part_number": max_part_number(settings, body.timeslice_ms),
                "max_part_bytes": max_part_bytes(settings, body.kind),
                "status": RECORDING,
            },
            actor=actor,
            kind=TrackItem,
        )

    def get_track(session: SessionItem, *, role: Role | None, track_id: str) -> TrackItem:
        """A track of ``session``; a join token (``role``) reaches only its own participant's.

        Raises:
            NotFoundError: no such live track in this session (another session's track looks absent).
            ForbiddenError: the track is the other participant's.
        """
        item = records.get_live(
            table, keys.tenant_pk(session["tenant_id"]), keys.track(track_id), kind=TrackItem
        )
        if item is None or item["session_id"] != session["session_id"]:
            raise NotFoundError.of("Track", track_id)
        if role is not None and item["role"] != role:
            raise ForbiddenError(
                f"Track {track_id} is the {item['role']}'s: a join token writes only its own participant's tracks"
            )
        return item

    def list_tracks(session: SessionItem, role: Role | None) -> list[TrackItem]:
        """The session's tracks: one participant's (join token) or everyone's (API key)."""
        return session_tracks(table, session["session_id"], role=role)

    def _built(session: SessionItem) -> bool:
        """True once the session's recording has been built from its tracks (later parts are unused)."""
        built = records.get_live(
            table,
            *recording_key(session["tenant_id"], tracks_recording_id(session["session_id"])),
            kind=RecordingItem,
        )
        return built is not None and built["status"] != "PENDING_UPLOAD"

    def grant_parts(session: SessionItem, track: TrackItem, parts: list[PartSize]) -> list[PartGrant]:
        """Presigned PUTs for ``parts``, each bound to its number, exact size and the track's type."""
        if track["status"] == COMPLETED:
            raise ConflictError(f"Track {track['track_id']} is complete: it takes no more parts")
        if session["status"] != "scheduled" and _built(session):
            raise ConflictError(
                f"Session {session['session_id']}'s recording was already built from its tracks"
            )
        limit_number, limit_bytes = int(track["max_part_number"]), int(track["max_part_bytes"])
        for index, part in enumerate(parts):
            if part.part_number > limit_number:
                raise ValidationError(
                    f"part {part.part_number} is beyond this track's {limit_number} parts "
                    f"({settings.max_duration_seconds:.0f} s at {int(track['timeslice_ms'])} ms per part)",
                    field=f"parts.{index}.part_number",
                )
            if part.size_bytes > limit_bytes:
                raise ValidationError(
                    f"part {part.part_number} is {part.size_bytes} bytes, over the limit of {limit_bytes} "
                    f"bytes per {track['kind']} part",
                    field=f"parts.{index}.size_bytes",
                )
        ttl = settings.track_part_url_ttl_seconds
        expires_at = utcnow() + timedelta(seconds=ttl)
        grants: list[PartGrant] = []
        for part in parts:
            url = presigner.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": bucket,
                    "Key": part_key(track, part.part_number),
                    "ContentType": track["content_type"],
                    "ContentLength": part.size_bytes,
                    # Write once: a retried part that did arrive answers 412, never a second copy.
                    "IfNoneMatch": "*",
                },
                ExpiresIn=ttl,
            )
            grants.append(
                {
                    "part_number": part.part_number,
                    "url": url,
                    "headers": {"Content-Type": track["content_type"], "If-None-Match": "*"},
                    "expires_at": expires_at,
                }
            )
        return grants

    def list_parts(track: TrackItem) -> list[tuple[int, int]]:
        """The parts of ``track`` already stored."""
        return stored_parts(s3, bucket, track)

    def complete_track(session: SessionItem, track: TrackItem, *, part_count: int, actor: str) -> TrackItem:
        """Mark ``track`` complete after ``part_count`` parts; idempotent for the same count.

        The first completion emits ``track.uploaded`` and, when the session has already ended,
        queues an assembly check (the session may have waited for this track).

        Raises:
            ConflictError: the track was completed before with another part count.
            ValidationError: ``part_count`` is beyond the track's limit.
        """
        if part_count > int(track["max_part_number"]):
            raise ValidationError(
                f"part_count {part_count} is beyond this track's {int(track['max_part_number'])} parts",
                field="part_count",
            )
        if track["status"] == COMPLETED:
            return _completed_again(track, part_count)
        try:
            done = records.update(
                table,
                keys.tenant_pk(track["tenant_id"]),
                keys.track(track["track_id"]),
                actor=actor,
                values={"status": COMPLETED, "part_count": part_count, "completed_at": now_iso()},
                condition=Attr("status").eq(RECORDING),
                kind=TrackItem,
            )
        except ClientError as exc:
            if not records.is_conditional_failure(exc):
                raise
            current = get_track(session, role=None, track_id=track["track_id"])
            return _completed_again(current, part_count)
        stored = stored_parts(s3, bucket, done)
        numbers = {n for n, _ in stored}
        emit_event(
            table,
            sqs,
            queue_url=settings.webhooks_queue_url,
            tenant_id=done["tenant_id"],
            session=session,
            event_type="track.uploaded",
            data={
                "track_id": done["track_id"],
                "role": done["role"],
                "participant": (session.get(done["role"]) or {}).get("name"),
                "kind": done["kind"],
                "part_count": part_count,
                "parts_stored": len(stored),
                "bytes": sum(size for _, size in stored),
                "missing_parts": [n for n in range(1, part_count + 1) if n not in numbers],
            },
            event_key=f"{done['track_id']}:uploaded",
        )
        fresh = records.get_live(table, *_session_key(session), kind=SessionItem)
        if fresh is not None and fresh["status"] == "ended" and settings.assemble_queue_url:
            send_assemble_job(sqs, settings, fresh, trigger="completed", suffix=f":{done['track_id']}")
        return done

    return TrackService(
        create_track=create_track,
        get_track=get_track,
        list_tracks=list_tracks,
        grant_parts=grant_parts,
        list_parts=list_parts,
        complete_track=complete_track,
    )


def _completed_again(track: TrackItem, part_count: int) -> TrackItem:
    if int(track.get("part_count", -1)) != part_count:
        raise ConflictError(
            f"Track {track['track_id']} was completed with {int(track['part_count'])} parts, not {part_count}"
        )
    log.info("track %s completed again (harmless)", track["track_id"])
    return track


def _session_key(session: SessionItem) -> tuple[str, str]:
    return keys.tenant_pk(session["tenant_id"]), keys.session(session["session_id"])


_MISSING_REASONS = {
    "no_audio": "no audio track of theirs arrived",
    "starts_late": "their track starts late",
    "ends_early": "their track ends early (its last parts never arrived)",
    "gap": "parts of their track are missing",
}


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class MissingAudioNote(TypedDict):
    """One entry of the summary's ``missing_audio`` (``schemas.summary.MissingAudio``), in seconds."""

    name: str
    role: str
    start: float
    end: float
    reason: str
    note: str


def missing_audio_of(recording: RecordingItem) -> list[MissingAudioNote]:
    """The summary's ``missing_audio`` entries for a recording built from tracks (else empty)."""
    entries: list[MissingAudioNote] = []
    for span in recording.get("missing_audio") or []:
        start, end = float(span["start"]), float(span["end"])
        name, role, reason = str(span["name"]), str(span["role"]), str(span["reason"])
        entries.append(
            {
                "name": name,
                "role": role,
                "start": start,
                "end": end,
                "reason": reason,
                "note": f"{name} ({role}): no audio from {_clock(start)} to {_clock(end)}: "
                f"{_MISSING_REASONS[reason]}.",
            }
        )
    return entries
