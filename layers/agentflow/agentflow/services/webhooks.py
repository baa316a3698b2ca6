"""Webhook events, deliveries, endpoints and signing secrets.

An event's id derives from its key (``{recording_id}:summary.ready``, …), so an event emitted
twice (SQS delivers at least once) is stored once and delivered once. Its delivery id derives from
the event id: one delivery record per event, whatever happens on the queue.

A delivery moves ``PENDING → DELIVERING → DELIVERED | PENDING (retry) | FAILED``. Each queue
message names one attempt number; an attempt is *claimed* with a conditional write on
``attempt_count`` before the POST, so a duplicated message never makes a second POST, and a
claim carries a lease so that an attempt whose worker died is taken over. Every attempt is
appended to the delivery's ``attempts`` log. A redelivery starts a new round of attempts on the
same record (same event id, so receivers can still deduplicate on ``webhook-id``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.items import AttemptItem, DeliveryItem, EndpointItem, EventItem, SessionItem, TenantItem
from agentflow.errors import ConflictError, NotFoundError
from agentflow.ids import now_iso, utcnow
from agentflow.schemas.messages import WebhookJob
from agentflow.services.tenants import new_webhook_secret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs.client import SQSClient

EVENT_VERSION = "2026-11-01"
EVENT_TYPES = (
    "recording.uploaded",
    "transcript.ready",
    "summary.ready",
    "summary.failed",
    "session.ended",
    "track.uploaded",
    # The call (agentflow.signaling): both participants in for the first time; each join and leave.
    "session.started",
    "participant.joined",
    "participant.left",
)

PENDING, DELIVERING, DELIVERED, FAILED = "PENDING", "DELIVERING", "DELIVERED", "FAILED"
FINAL_STATUSES = (DELIVERED, FAILED)
MAX_SQS_DELAY_SECONDS = 900  # SQS DelaySeconds maximum: longer waits are chained hops


class WebhookEvent(TypedDict):
    """The envelope every event's delivery POSTs (docs/WEBHOOKS.md), stored as its exact JSON text."""

    id: str
    type: str  # one of EVENT_TYPES
    version: str  # EVENT_VERSION
    timestamp: str
    data: dict[str, Any]  # ``session_id`` and the event type's own fields


def event_id_for(*, tenant_id: str, event_key: str) -> str:
    """The stable id of the event identified by ``event_key`` within a tenant."""
    return "evt_" + hashlib.sha256(f"{tenant_id}:{event_key}".encode()).hexdigest()[:26]


def delivery_id_for(event_id: str) -> str:
    """The id of the (only) delivery of an event."""
    return "dlv_" + event_id.removeprefix("evt_")


def endpoint_id_for(*, tenant_id: str, url: str) -> str:
    """The id of a tenant's webhook endpoint (one per distinct URL)."""
    return "whe_" + hashlib.sha256(f"{tenant_id}:{url}".encode()).hexdigest()[:26]


def parse_iso(value: str) -> datetime:
    """Parse one of our ISO 8601 UTC timestamps (``…Z``)."""
    return datetime.fromisoformat(value)


def iso_in(seconds: float) -> str:
    """The ISO 8601 UTC time ``seconds`` from now, as ``now_iso`` writes it."""
    later = utcnow() + timedelta(seconds=seconds)
    return later.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_until(value: str | None) -> float:
    """Seconds from now until an ISO time (negative when past; 0 for ``None``)."""
    if not value:
        return 0.0
    return (parse_iso(value) - utcnow()).total_seconds()


def _put_once(table: Table, item: Mapping[str, Any], *, actor: str) -> bool:
    try:
        records.put_new(table, item, actor=actor)
        return True
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            return False
        raise


def enqueue(
    sqs: SQSClient,
    queue_url: str,
    *,
    tenant_id: str,
    delivery_id: str,
    attempt: int,
    delay_seconds: float,
) -> None:
    """Queue attempt ``attempt`` of a delivery, visible after ``delay_seconds`` (at most one hop)."""
    job = WebhookJob(job_id=delivery_id, tenant_id=tenant_id, delivery_id=delivery_id, attempt=attempt)
    delay = min(MAX_SQS_DELAY_SECONDS, max(0, math.ceil(delay_seconds)))
    sqs.send_message(QueueUrl=queue_url, MessageBody=job.model_dump_json(), DelaySeconds=delay)


def emit_event(
    table: Table,
    sqs: SQSClient,
    *,
    queue_url: str,
    tenant_id: str,
    session: SessionItem,
    event_type: str,
    data: Mapping[str, Any],
    event_key: str,
    actor: str = "system",
) -> str:
    """Record an event and, when the session has a webhook URL, queue its delivery (with ``sqs``).

    Returns:
        The event id.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    event_id = event_id_for(tenant_id=tenant_id, event_key=event_key)
    session_id = session["session_id"]
    payload: WebhookEvent = {
        "id": event_id,
        "type": event_type,
        "version": EVENT_VERSION,
        "timestamp": now_iso(),
        "data": {"session_id": session_id, **data},
    }
    pk = keys.tenant_pk(tenant_id)
    _put_once(
        table,
        {
            "pk": pk,
            "sk": keys.event(event_id),
            "entity": "event",
            "gsi1pk": keys.session(session_id),
            "gsi1sk": keys.event(event_id),
            "tenant_id": tenant_id,
            "session_id": session_id,
            "event_id": event_id,
            "type": event_type,
            "status": "RECORDED",
            # Stored as the exact JSON text that is delivered and signed (DynamoDB has no floats).
            "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        },
        actor=actor,
    )
    url = session.get("webhook_url")
    if not url:
        return event_id
    delivery_id = delivery_id_for(event_id)
    _put_once(
        table,
        {
            "pk": pk,
            "sk": keys.delivery(delivery_id),
            "entity": "webhook_delivery",
            "gsi1pk": keys.session(session_id),
            "gsi1sk": keys.delivery(delivery_id),
            "tenant_id": tenant_id,
            "session_id": session_id,
            "delivery_id": delivery_id,
            "event_id": event_id,
            "event_type": event_type,
            "url": url,
            "status": PENDING,
            "attempt_count": 0,
            "round_first_attempt": 1,
            "redelivery_count": 0,
            "attempts": [],
        },
        actor=actor,
    )
    # Queued even when the delivery existed: a crash may have come between the two writes. The
    # deliver stage claims attempt 1 once, so a second message for it makes no second POST.
    enqueue(sqs, queue_url, tenant_id=tenant_id, delivery_id=delivery_id, attempt=1, delay_seconds=0)
    return event_id


@dataclass(frozen=True)
class RotatedSecret:
    """What ``rotate_secret`` returns: the new secret (shown once) and until when the old one signs."""

    webhook_secret: str
    previous_secret_valid_until: str


class GetDelivery(Protocol):
    """The delivery, or ``NotFoundError`` (also for another tenant's)."""

    def __call__(self, *, tenant_id: str, delivery_id: str) -> DeliveryItem: ...


class FindDelivery(Protocol):
    """The delivery, or ``None``."""

    def __call__(self, *, tenant_id: str, delivery_id: str) -> DeliveryItem | None: ...


class ListDeliveries(Protocol):
    """A session's deliveries, oldest first; ``NotFoundError`` if the tenant has no such session."""

    def __call__(self, *, tenant_id: str, session_id: str, limit: int = ...) -> list[DeliveryItem]: ...


class EventBody(Protocol):
    """The stored JSON text of an event: exactly what is POSTed and signed."""

    def __call__(self, *, tenant_id: str, event_id: str) -> str: ...


class Claim(Protocol):
    """Take attempt ``attempt``; return the claimed delivery, or ``None`` if another worker has it."""

    def __call__(
        self, delivery: DeliveryItem, attempt: int, *, lease_seconds: float
    ) -> DeliveryItem | None: ...


class Finish(Protocol):
    """Record the claimed attempt and the delivery's new status; ``None`` if the claim was lost."""

    def __call__(
        self,
        claimed: DeliveryItem,
        attempt_record: AttemptItem,
        *,
        status: str,
        next_attempt_at: str | None = ...,
        failure_reason: str | None = ...,
    ) -> DeliveryItem | None: ...


class Enqueue(Protocol):
    """Queue attempt ``attempt`` of a delivery, visible after ``delay_seconds`` (at most one hop)."""

    def __call__(self, delivery: DeliveryItem, attempt: int, *, delay_seconds: float) -> None: ...


class Redeliver(Protocol):
    """Start a new round of attempts for a finished delivery (FAILED or DELIVERED)."""

    def __call__(self, *, tenant_id: str, delivery_id: str, actor: str) -> DeliveryItem: ...


class EndpointDisabled(Protocol):
    """True when the endpoint answered 410 Gone and has not been enabled since."""

    def __call__(self, *, tenant_id: str, url: str) -> bool: ...


class DisableEndpoint(Protocol):
    """Stop delivering to ``url`` (the record stays, marked DISABLED)."""

    def __call__(self, *, tenant_id: str, url: str, reason: str, actor: str = ...) -> None: ...


class EnableEndpoint(Protocol):
    """Deliver to ``url`` again (a no-op when it was never disabled)."""

    def __call__(self, *, tenant_id: str, url: str, actor: str) -> None: ...


class SigningSecrets(Protocol):
    """The secrets that sign a delivery now: the current one, and the previous during its grace."""

    def __call__(self, tenant_id: str) -> list[str]: ...


class RotateSecret(Protocol):
    """Make a new signing secret; the current one keeps signing too for the grace period."""

    def __call__(self, tenant_id: str, *, actor: str) -> RotatedSecret: ...


@dataclass(frozen=True)
class WebhookService:
    """Operations on a tenant's webhook deliveries, endpoints and signing secrets."""

    get_delivery: GetDelivery
    find_delivery: FindDelivery
    list_deliveries: ListDeliveries
    event_body: EventBody
    claim: Claim
    finish: Finish
    enqueue: Enqueue
    redeliver: Redeliver
    endpoint_disabled: EndpointDisabled
    disable_endpoint: DisableEndpoint
    enable_endpoint: EnableEndpoint
    signing_secrets: SigningSecrets
    rotate_secret: RotateSecret


def create_webhook_service(
    table: Table, sqs: SQSClient, *, queue_url: str, secret_grace_seconds: int = 24 * 3600
) -> WebhookService:
    """Build the webhook operations over ``table``, queueing attempts with ``sqs`` on ``queue_url``."""

    def _key(tenant_id: str, delivery_id: str) -> tuple[str, str]:
        return keys.tenant_pk(tenant_id), keys.delivery(delivery_id)

    def find_delivery(*, tenant_id: str, delivery_id: str) -> DeliveryItem | None:
        """The delivery, or ``None``."""
        return records.get_live(table, *_key(tenant_id, delivery_id), kind=DeliveryItem)

    def get_delivery(*, tenant_id: str, delivery_id: str) -> DeliveryItem:
        """The delivery, or ``NotFoundError`` (also for another tenant's)."""
        item = find_delivery(tenant_id=tenant_id, delivery_id=delivery_id)
        if item is None:
            raise NotFoundError.of("Webhook delivery", delivery_id)
        return item

    def list_deliveries(*, tenant_id: str, session_id: str, limit: int = 100) -> list[DeliveryItem]:
        """A session's deliveries, oldest first; ``NotFoundError`` if the tenant has no such session.

        Soft-deleted sessions still list theirs: the log is kept.
        """
        if records.get_any(table, keys.tenant_pk(tenant_id), keys.session(session_id)) is None:
            raise NotFoundError.of("Session", session_id)
        items, _ = records.query_live(
            table,
            keys.session(session_id),
            sk_prefix=keys.DELIVERY,
            index="gsi1",
            limit=limit,
            filter_expression=Attr("tenant_id").eq(tenant_id),
            kind=DeliveryItem,
        )
        return sorted(items, key=lambda i: (str(i["created_at"]), str(i["delivery_id"])))

    def event_body(*, tenant_id: str, event_id: str) -> str:
        """The stored JSON text of an event: exactly what is POSTed and signed."""
        item = records.get_live(table, keys.tenant_pk(tenant_id), keys.event(event_id), kind=EventItem)
        if item is None:
            raise NotFoundError.of("Event", event_id)
        return str(item["payload"])

    def claim(delivery: DeliveryItem, attempt: int, *, lease_seconds: float) -> DeliveryItem | None:
        """Take attempt ``attempt``; return the claimed delivery, or ``None`` if another worker has it.

        Succeeds when the previous attempt is the last one recorded and the delivery is PENDING, or
        DELIVERING under an expired lease (its worker died mid-attempt).
        """
        now = time.time()
        previous = Attr("attempt_count").eq(attempt - 1)
        free = Attr("status").eq(PENDING) | (Attr("status").eq(DELIVERING) & Attr("lease_until").lt(int(now)))
        try:
            return records.update(
                table,
                delivery["pk"],
                delivery["sk"],
                actor="webhooks",
                values={
                    "status": DELIVERING,
                    "claim_id": uuid.uuid4().hex,
                    "lease_until": math.ceil(now + lease_seconds),
                },
                condition=previous & free,
                kind=DeliveryItem,
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                return None
            raise

    def finish(
        claimed: DeliveryItem,
        attempt_record: AttemptItem,
        *,
        status: str,
        next_attempt_at: str | None = None,
        failure_reason: str | None = None,
    ) -> DeliveryItem | None:
        """Record the claimed attempt and the delivery's new status; ``None`` if the claim was lost."""
        attempt = int(attempt_record["attempt"])
        values: dict[str, Any] = {
            "status": status,
            "attempt_count": attempt,
            "attempts": [*claimed.get("attempts", []), attempt_record],
            "last_attempt_at": attempt_record["started_at"],
            "next_attempt_at": next_attempt_at,
            "failure_reason": failure_reason,
            "lease_until": 0,
        }
        if status == DELIVERED:
            values["delivered_at"] = now_iso()
        if status == FAILED:
            values["failed_at"] = now_iso()
        try:
            return records.update(
                table,
                claimed["pk"],
                claimed["sk"],
                actor="webhooks",
                values=values,
                condition=Attr("claim_id").eq(claimed["claim_id"]) & Attr("attempt_count").eq(attempt - 1),
                kind=DeliveryItem,
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                return None
            raise

    def queue_attempt(delivery: DeliveryItem, attempt: int, *, delay_seconds: float) -> None:
        """Queue attempt ``attempt`` of ``delivery`` after ``delay_seconds`` (one hop at most)."""
        enqueue(
            sqs,
            queue_url,
            tenant_id=delivery["tenant_id"],
            delivery_id=delivery["delivery_id"],
            attempt=attempt,
            delay_seconds=delay_seconds,
        )

    def redeliver(*, tenant_id: str, delivery_id: str, actor: str) -> DeliveryItem:
        """Start a new round of attempts for a finished delivery (FAILED or DELIVERED).

        A disabled endpoint is enabled again: asking for a redelivery says the receiver is back.

        Raises:
            NotFoundError: no such delivery for this tenant.
            ConflictError: the delivery is still being attempted.
        """
        delivery = get_delivery(tenant_id=tenant_id, delivery_id=delivery_id)
        if delivery["status"] not in FINAL_STATUSES:
            raise ConflictError(f"Webhook delivery {delivery_id} is still {delivery['status']}")
        done = int(delivery.get("attempt_count", 0))
        try:
            updated = records.update(
                table,
                delivery["pk"],
                delivery["sk"],
                actor=actor,
                values={
                    "status": PENDING,
                    "round_first_attempt": done + 1,
                    "redelivery_count": int(delivery.get("redelivery_count", 0)) + 1,
                    "redelivered_at": now_iso(),
                    "redelivered_by": actor,
                    "next_attempt_at": now_iso(),
                    "failure_reason": None,
                },
                condition=Attr("status").eq(delivery["status"]) & Attr("attempt_count").eq(done),
                kind=DeliveryItem,
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                raise ConflictError(f"Webhook delivery {delivery_id} changed; try again") from exc
            raise
        enable_endpoint(tenant_id=tenant_id, url=delivery["url"], actor=actor)
        queue_attempt(updated, done + 1, delay_seconds=0)
        return updated

    def _endpoint_key(tenant_id: str, url: str) -> tuple[str, str]:
        return keys.tenant_pk(tenant_id), keys.webhook_endpoint(endpoint_id_for(tenant_id=tenant_id, url=url))

    def endpoint_disabled(*, tenant_id: str, url: str) -> bool:
        """True when the endpoint answered 410 Gone and has not been enabled since."""
        item = records.get_live(table, *_endpoint_key(tenant_id, url), kind=EndpointItem)
        return item is not None and item.get("status") == "DISABLED"

    def _set_endpoint(tenant_id: str, url: str, values: Mapping[str, Any], *, actor: str) -> None:
        pk, sk = _endpoint_key(tenant_id, url)
        item = {
            "pk": pk,
            "sk": sk,
            "entity": "webhook_endpoint",
            "tenant_id": tenant_id,
            "endpoint_id": endpoint_id_for(tenant_id=tenant_id, url=url),
            "url": url,
            **values,
        }
        if not _put_once(table, item, actor=actor):
            records.update(table, pk, sk, actor=actor, values=values)

    def disable_endpoint(*, tenant_id: str, url: str, reason: str, actor: str = "webhooks") -> None:
        """Stop delivering to ``url`` (the record stays, marked DISABLED)."""
        _set_endpoint(
            tenant_id,
            url,
            {"status": "DISABLED", "disabled_at": now_iso(), "disabled_reason": reason},
            actor=actor,
        )

    def enable_endpoint(*, tenant_id: str, url: str, actor: str) -> None:
        """Deliver to ``url`` again (a no-op when it was never disabled)."""
        if endpoint_disabled(tenant_id=tenant_id, url=url):
            _set_endpoint(tenant_id, url, {"status": "ACTIVE", "enabled_at": now_iso()}, actor=actor)

    def _tenant(tenant_id: str) -> TenantItem:
        tenant = records.get_live(table, keys.tenant_pk(tenant_id), keys.TENANT_SK, kind=TenantItem)
        if tenant is None:
            raise NotFoundError.of("Tenant", tenant_id)
        return tenant

    def signing_secrets(tenant_id: str) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous during its grace."""
        tenant = _tenant(tenant_id)
        secrets = [str(s) for s in tenant.get("webhook_secrets", [])]
        if not secrets:
            raise NotFoundError(f"Tenant {tenant_id} has no webhook secret")
        rotated_at = tenant.get("webhook_secret_rotated_at")
        if len(secrets) > 1 and rotated_at and -seconds_until(rotated_at) < secret_grace_seconds:
            return secrets[:2]
        return secrets[:1]

    def rotate_secret(tenant_id: str, *, actor: str) -> RotatedSecret:
        """Make a new signing secret; the current one keeps signing too for the grace period."""
        tenant = _tenant(tenant_id)
        current = list(tenant.get("webhook_secrets", []))
        secret = new_webhook_secret()
        try:
            records.update(
                table,
                tenant["pk"],
                tenant["sk"],
                actor=actor,
                values={"webhook_secrets": [secret, *current[:1]], "webhook_secret_rotated_at": now_iso()},
                condition=Attr("webhook_secrets").eq(current),
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                raise ConflictError("The webhook secret was rotated at the same time; try again") from exc
            raise
        return RotatedSecret(webhook_secret=secret, previous_secret_valid_until=iso_in(secret_grace_seconds))

    return WebhookService(
        get_delivery=get_delivery,
        find_delivery=find_delivery,
        list_deliveries=list_deliveries,
        event_body=event_body,
        claim=claim,
        finish=finish,
        enqueue=queue_attempt,
        redeliver=redeliver,
        endpoint_disabled=endpoint_disabled,
        disable_endpoint=disable_endpoint,
        enable_endpoint=enable_endpoint,
        signing_secrets=signing_secrets,
        rotate_secret=rotate_secret,
    )
