"""``/v1/webhook-deliveries``: the delivery log, redelivery; ``/v1/webhook-secret/rotate``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from agentflow.api.deps import SettingsDep, SQSDep, TableDep, TenantDep
from agentflow.aws.items import DeliveryItem
from agentflow.schemas.errors import error_responses
from agentflow.services.webhooks import WebhookService, create_webhook_service

router = APIRouter(tags=["webhooks"])


class DeliveryAttempt(BaseModel):
    """One POST (or one decision not to POST) of a delivery."""

    attempt: int
    started_at: str
    status: str = Field(description="succeeded, failed, blocked (SSRF guard) or skipped (endpoint disabled)")
    response_code: int | None = None
    latency_ms: int = 0
    error: str | None = None
    response_excerpt: str = ""
    next_attempt_at: str | None = None


class WebhookDelivery(BaseModel):
    """A delivery of one event to the session's webhook URL, with every attempt."""

    delivery_id: str
    event_id: str
    event_type: str
    session_id: str
    url: str
    status: str = Field(description="PENDING, DELIVERING, DELIVERED or FAILED")
    attempt_count: int
    attempts: list[DeliveryAttempt]
    redelivery_count: int = 0
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    failed_at: str | None = None
    failure_reason: str | None = None
    created_at: str
    updated_at: str
    event: dict[str, Any] | None = Field(default=None, description="The payload as delivered")


class DeliveryList(BaseModel):
    """A session's deliveries, oldest first."""

    items: list[WebhookDelivery]


class RotatedSecretResponse(BaseModel):
    """The new signing secret: shown once. The previous one keeps signing until the given time."""

    webhook_secret: str
    previous_secret_valid_until: str


def get_webhook_service(table: TableDep, sqs: SQSDep, settings: SettingsDep) -> WebhookService:
    """The webhook operations over the table, queueing redeliveries on the webhooks queue."""
    return create_webhook_service(
        table,
        sqs,
        queue_url=settings.webhooks_queue_url,
        secret_grace_seconds=settings.webhook_secret_grace_seconds,
    )


WebhookServiceDep = Annotated[WebhookService, Depends(get_webhook_service)]


def _to_response(service: WebhookService, item: DeliveryItem) -> WebhookDelivery:
    fields = {k: v for k, v in item.items() if k in WebhookDelivery.model_fields}
    event = json.loads(service.event_body(tenant_id=item["tenant_id"], event_id=item["event_id"]))
    return WebhookDelivery.model_validate({**fields, "event": event})


@router.get("/v1/webhook-deliveries", response_model=DeliveryList, responses=error_responses(401, 404, 422))
def list_deliveries(
    tenant: TenantDep,
    service: WebhookServiceDep,
    session_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> DeliveryList:
    """Every webhook delivery of a session, with its attempts (status, response code, latency, error)."""
    items = service.list_deliveries(tenant_id=tenant.tenant_id, session_id=session_id, limit=limit)
    return DeliveryList(items=[_to_response(service, i) for i in items])


@router.get(
    "/v1/webhook-deliveries/{delivery_id}",
    response_model=WebhookDelivery,
    responses=error_responses(401, 404, 422),
)
def get_delivery(delivery_id: str, tenant: TenantDep, service: WebhookServiceDep) -> WebhookDelivery:
    """One delivery with its attempts."""
    return _to_response(service, service.get_delivery(tenant_id=tenant.tenant_id, delivery_id=delivery_id))


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/redeliver",
    response_model=WebhookDelivery,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422),
)
def redeliver(delivery_id: str, tenant: TenantDep, service: WebhookServiceDep) -> WebhookDelivery:
    """Send a finished delivery again (a new round of attempts; same event id and body).

    Enables the endpoint again if a 410 Gone had disabled it. 409 while attempts are under way.
    """
    return _to_response(
        service, service.redeliver(tenant_id=tenant.tenant_id, delivery_id=delivery_id, actor=tenant.actor)
    )


@router.post(
    "/v1/webhook-secret/rotate", response_model=RotatedSecretResponse, responses=error_responses(401)
)
def rotate_secret(tenant: TenantDep, service: WebhookServiceDep) -> RotatedSecretResponse:
    """Make a new webhook signing secret; both sign deliveries until the old one's grace ends."""
    rotated = service.rotate_secret(tenant.tenant_id, actor=tenant.actor)
    return RotatedSecretResponse(
        webhook_secret=rotated.webhook_secret,
        previous_secret_valid_until=rotated.previous_secret_valid_until,
    )
