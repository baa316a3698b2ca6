"""Webhook events: recorded once per event key, delivered from the webhooks queue.

An event's id derives from its key (``{recording_id}:summary.ready``, …), so an event emitted
twice (SQS delivers at least once) is stored once and delivered once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError

from agentflow.aws import records
from agentflow.aws.clients import client
from agentflow.ids import now_iso
from agentflow.schemas.messages import WebhookJob

EVENT_VERSION = "2026-11-01"
EVENT_TYPES = ("recording.uploaded", "transcript.ready", "summary.ready", "summary.failed", "session.ended")


def event_id_for(tenant_id: str, event_key: str) -> str:
    """The stable id of the event identified by ``event_key`` within a tenant."""
    return "evt_" + hashlib.sha256(f"{tenant_id}:{event_key}".encode()).hexdigest()[:26]


def _put_once(table: Any, item: dict[str, Any], *, actor: str) -> bool:
    try:
        records.put_new(table, item, actor=actor)
        return True
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            return False
        raise


def emit_event(
    table: Any,
    *,
    queue_url: str,
    tenant_id: str,
    session: dict[str, Any],
    event_type: str,
    data: dict[str, Any],
    event_key: str,
    actor: str = "system",
) -> str:
    """Record an event and, when the session has a webhook URL, queue its delivery; return the event id."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    event_id = event_id_for(tenant_id, event_key)
    session_id = session["session_id"]
    payload = {
        "id": event_id,
        "type": event_type,
        "version": EVENT_VERSION,
        "timestamp": now_iso(),
        "data": {"session_id": session_id, **data},
    }
    pk = records.tenant_pk(tenant_id)
    _put_once(
        table,
        {
            "pk": pk,
            "sk": f"EVENT#{event_id}",
            "entity": "event",
            "gsi1pk": f"SESSION#{session_id}",
            "gsi1sk": f"EVENT#{event_id}",
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
    delivery_id = "dlv_" + event_id.removeprefix("evt_")
    _put_once(
        table,
        {
            "pk": pk,
            "sk": f"DELIVERY#{delivery_id}",
            "entity": "webhook_delivery",
            "gsi1pk": f"SESSION#{session_id}",
            "gsi1sk": f"DELIVERY#{delivery_id}",
            "tenant_id": tenant_id,
            "session_id": session_id,
            "delivery_id": delivery_id,
            "event_id": event_id,
            "event_type": event_type,
            "url": url,
            "status": "PENDING",
            "attempts": [],
        },
        actor=actor,
    )
    # Queued even when the delivery existed: a crash may have come between the two writes.
    # The deliver stage skips deliveries that are no longer PENDING.
    job = WebhookJob(job_id=delivery_id, tenant_id=tenant_id, delivery_id=delivery_id)
    client("sqs").send_message(QueueUrl=queue_url, MessageBody=job.model_dump_json())
    return event_id
