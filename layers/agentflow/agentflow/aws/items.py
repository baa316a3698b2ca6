"""The shapes of stored items, one TypedDict per kind (docs/DATA_MODEL.md).

boto3 returns an item as a mapping of attribute values (``str | Decimal | bytes | …``); these say
which fields an item of each kind has and of what type, so a read is checked where it is used.
The one place an item from boto3 becomes one of these is ``agentflow.aws.records`` (its ``kind=``).

Numbers come back as ``Decimal``; where a service returns the item it just wrote they are still the
``int`` it wrote, hence :data:`Number`. ``NotRequired`` fields are written by a later step (ending,
a stage, a retry) or only for some items of the kind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict

Number = Decimal | int
Role = Literal["host", "client"]


class Audited(TypedDict):
    """The audit fields every item carries, and the two soft delete adds (``records.soft_delete``)."""

    pk: str
    sk: str
    entity: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    deleted_at: NotRequired[str]
    deleted_by: NotRequired[str]


class TenantItem(Audited):
    """A tenant: its name and webhook signing secrets (newest first; the previous one during its grace)."""

    tenant_id: str
    name: str
    status: str  # ACTIVE | DELETED
    webhook_secrets: list[str]
    webhook_secret_rotated_at: NotRequired[str]


class ApiKeyItem(Audited):
    """An API key: only its hash is stored (in ``pk``)."""

    gsi1pk: str
    gsi1sk: str
    key_id: str
    tenant_id: str
    status: str  # ACTIVE | REVOKED | DELETED
    prefix: str
    revoked_at: NotRequired[str]
    revoked_by: NotRequired[str]


class IdempotencyItem(Audited):
    """A claim on an ``Idempotency-Key``: the session it created, until ``expires_at_epoch`` (TTL)."""

    tenant_id: str
    body_hash: str
    session_id: str
    expires_at_epoch: Number


class Participant(TypedDict):
    """A session's host or client, as the create request gave them."""

    name: str
    external_user_id: NotRequired[str]


class SessionItem(Audited):
    """A session: the create request's fields (those given) and its status."""

    tenant_id: str
    session_id: str
    status: str  # scheduled | ended | DELETED
    host: Participant
    client: Participant
    auto_start_recording: bool
    webhook_url: NotRequired[str]
    language: NotRequired[str]
    num_speakers: NotRequired[Number]
    min_speakers: NotRequired[Number]
    max_speakers: NotRequired[Number]
    workflow_id: NotRequired[str]
    vocabulary: NotRequired[list[str]]
    ended_at: NotRequired[str]


class ChunkRunItem(TypedDict, total=False):
    """One chunk's attempt under ``stages.<stage>.runs.<index>``."""

    status: str  # RUNNING | RETRYING | DONE
    started_at: str
    attempts: Number
    last_error: str
    completed_at: str
    seconds: Decimal
    artifact: str


class ChunkCount(TypedDict):
    """``stages.<stage>.chunks``: how many chunks the stage has, how many are stored."""

    total: Number
    done: Number


class StageProgress(TypedDict, total=False):
    """``stages.<stage>`` of a recording: one shape for every stage (``stages.common``)."""

    status: str  # QUEUED | RUNNING | RETRYING | DONE
    started_at: str
    attempts: Number
    last_error: str
    completed_at: str
    seconds: Decimal
    artifact: str
    chunks: ChunkCount
    runs: dict[str, ChunkRunItem]
    merge_seconds: Decimal
    longest_chunk_seconds: Decimal


class ChunkItem(TypedDict):
    """One chunk of the plan ingest stores (seconds)."""

    index: Number
    start: Decimal
    end: Decimal


# A recording built from tracks (stages.assemble) says how: these are written as built (floats
# become Decimal on the way in) and read back with Decimal numbers, hence ``Decimal | float``.


class ChannelParticipant(TypedDict):
    """Who is on a channel of a recording built from tracks."""

    channel: Number
    role: Role
    name: str


class MissingSpan(TypedDict):
    """A span of a participant's channel with no audio (seconds), and why."""

    role: Role
    name: str
    channel: Number
    start: Decimal | float
    end: Decimal | float
    reason: str  # no_audio | starts_late | ends_early | gap


class TrackProblem(TypedDict):
    """Why (part of) a track was not used."""

    track_id: str
    role: Role
    reason: str


class UsedTrack(TypedDict):
    """What the assembler took from one audio track."""

    track_id: str
    role: Role
    status: str
    part_count: Number | None
    parts_stored: Number
    bytes: Number
    offset_ms: Number
    clock_error_ms: Number


class VideoTrack(TypedDict):
    """A video track of the session, kept in the bucket under ``prefix``."""

    track_id: str
    role: Role
    prefix: str
    status: str


class RecordingItem(Audited):
    """A recording and its way through the pipeline (``services.recordings``)."""

    gsi1pk: str
    gsi1sk: str
    tenant_id: str
    session_id: str
    recording_id: str
    status: str  # PENDING_UPLOAD | UPLOADED | PROCESSING | SUMMARIZING | COMPLETED | FAILED
    s3_key: str
    filename: str
    content_type: str
    stages: dict[str, StageProgress]
    max_bytes: NotRequired[Number]
    upload_expires_at: NotRequired[str]
    # ingest
    size_bytes: NotRequired[Number]
    duration_seconds: NotRequired[Decimal]
    channels: NotRequired[Number]
    sample_rate: NotRequired[Number]
    codec: NotRequired[str]
    per_channel: NotRequired[bool]
    chunks: NotRequired[list[ChunkItem]]
    processing_at: NotRequired[str]
    # the analysis stages' done sets (chunk indexes as strings)
    transcribe_chunks_done: NotRequired[set[str]]
    diarize_chunks_done: NotRequired[set[str]]
    # the fan-in, then the end
    summarize_claimed_by: NotRequired[str]
    summarize_sent: NotRequired[bool]
    summary_id: NotRequired[str]
    signature_id: NotRequired[str]
    completed_at: NotRequired[str]
    failure_reason: NotRequired[str]
    failed_stage: NotRequired[str]
    failed_at: NotRequired[str]
    # built from the participants' tracks (stages.assemble)
    source: NotRequired[str]  # "tracks"
    assembled_by: NotRequired[str]
    channel_participants: NotRequired[list[ChannelParticipant]]
    missing_audio: NotRequired[list[MissingSpan]]
    track_problems: NotRequired[list[TrackProblem]]
    tracks: NotRequired[list[UsedTrack]]
    video_tracks: NotRequired[list[VideoTrack]]
    call_started_at_server_ms: NotRequired[Number]
    alignment_error_ms: NotRequired[Number]
    assembled_duration_seconds: NotRequired[Decimal]


class TrackItem(Audited):
    """One participant's recorder track, uploaded part by part (``services.tracks``)."""

    gsi1pk: str
    gsi1sk: str
    tenant_id: str
    session_id: str
    track_id: str
    role: Role
    kind: str  # audio | video
    content_type: str
    extension: str
    timeslice_ms: Number
    started_at_server_ms: Number
    clock_error_ms: Number
    max_part_number: Number
    max_part_bytes: Number
    status: str  # RECORDING | COMPLETED | DELETED
    part_count: NotRequired[Number]
    completed_at: NotRequired[str]


class SummaryItem(Audited):
    """A signed summary: its hashes and ids here, its JSON and PDF in S3."""

    gsi1pk: str
    gsi1sk: str
    tenant_id: str
    session_id: str
    recording_id: str
    summary_id: str
    document_hash: str
    pdf_sha256: str
    signature_id: str
    summary_key: str
    pdf_key: str
    status: str  # COMPLETED


class SignatureItem(Audited):
    """The seed's signature record plus the compact JWS, its manifest and the KMS key that signed."""

    gsi1pk: str
    gsi1sk: str
    tenant_id: str
    session_id: str
    summary_id: str
    status: str  # ACTIVE
    signature_id: str
    public_key_id: str
    signature_value: str
    document_hash: str
    algorithm: str
    pdf_sha256: str
    jws: str
    manifest: dict[str, Any]
    kms_key_id: str


class PublicKeyItem(Audited):
    """A public key that has signed (or is current); the JWKS lists the ACTIVE ones."""

    gsi1pk: str
    gsi1sk: str
    kid: str
    kms_key_id: str
    kms_key_arn: str
    jwk: dict[str, Any]
    public_key_pem: str
    status: str  # ACTIVE | COMPROMISED | DELETED


class WorkflowItem(Audited):
    """A validated ``WorkflowSpec``, stored as JSON text (DynamoDB takes no floats)."""

    tenant_id: str
    workflow_id: str
    name: str
    version: Number
    status: str  # ACTIVE | DELETED
    spec_json: str


class EventItem(Audited):
    """A webhook event: ``payload`` is the exact JSON text that is delivered and signed."""

    gsi1pk: str
    gsi1sk: str
    tenant_id: str
    session_id: str
    event_id: str
    type: str
    status: str  # RECORDED
    payload: str


class AttemptItem(TypedDict):
    """One POST of a delivery (or one decision not to POST), in its ``attempts`` log."""

    attempt: Number
    started_at: str
    status: str  # succeeded | failed | blocked | skipped
    response_code: Number | None
    latency_ms: Number
    error: str | None
    response_excerpt: str
    next_attempt_at: NotRequired[str]


class DeliveryItem(Audited):
    """The one delivery of an event to the session's webhook URL (``services.webhooks``)."""

    gsi1pk: str
    gsi1sk: str
    tenant_id: str
    session_id: str
    delivery_id: str
    event_id: str
    event_type: str
    url: str
    status: str  # PENDING | DELIVERING | DELIVERED | FAILED
    attempt_count: Number
    round_first_attempt: Number
    redelivery_count: Number
    attempts: list[AttemptItem]
    claim_id: NotRequired[str]
    lease_until: NotRequired[Number]
    last_attempt_at: NotRequired[str]
    next_attempt_at: NotRequired[str | None]
    failure_reason: NotRequired[str | None]
    delivered_at: NotRequired[str]
    failed_at: NotRequired[str]
    redelivered_at: NotRequired[str]
    redelivered_by: NotRequired[str]


class EndpointItem(Audited):
    """A tenant's webhook URL: ACTIVE, or DISABLED after it answered 410 Gone."""

    tenant_id: str
    endpoint_id: str
    url: str
    status: str  # ACTIVE | DISABLED
    disabled_at: NotRequired[str]
    disabled_reason: NotRequired[str]
    enabled_at: NotRequired[str]


class ConnectionItem(Audited):
    """A call page's WebSocket connection, written by ``$connect`` from its verified join token.

    A message event names only its connection, so the token's tenant, session and role are kept
    here (``agentflow.signaling.service``); ``$disconnect`` soft-deletes it.
    """

    connection_id: str
    tenant_id: str
    session_id: str
    role: Role
    jti: str
    name: str  # this participant's, as the session has it
    peer_name: str
    status: str  # CONNECTED | JOINED | DELETED
    expires_at_epoch: Number  # TTL
    joined_at: NotRequired[str]
    left_at: NotRequired[str]


class SeatItem(Audited):
    """One of a session's two seats: the connection holding it, and the version every claim and
    release bumps (a claim is a write conditional on the version it read)."""

    tenant_id: str
    session_id: str
    role: Role
    status: str  # OCCUPIED | FREE
    version: Number
    joined_at: str
    expires_at_epoch: Number  # TTL, a little after API Gateway's 2-hour connection limit
    connection_id: NotRequired[str]  # removed by a release
    released_at: NotRequired[str]
    released_by: NotRequired[str]


class CallItem(Audited):
    """A session's call, put once when both seats were first held (``session.started`` fires once)."""

    tenant_id: str
    session_id: str
    started_at: str
    status: str  # STARTED
