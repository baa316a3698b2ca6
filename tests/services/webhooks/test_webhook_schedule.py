"""The deliver stage's scheduling: backoff with jitter, Retry-After, chained SQS delays, recovery."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from agentflow.schemas.messages import WebhookJob
from agentflow.services.webhooks import create_webhook_service, delivery_id_for, iso_in
from agentflow.settings import Settings, get_settings
from agentflow.stages.deliver import deliver, retry_delay

from tests.services.webhooks.support import Receiver, World, final


def test_retry_delay_follows_the_schedule_within_the_jitter() -> None:
    # GIVEN the default schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) and 20 % jitter
    settings = Settings()
    schedule = settings.webhook_retry_schedule_seconds
    assert schedule[:6] == [5, 300, 1800, 7200, 18000, 36000]
    # WHEN the waits are drawn many times THEN each stays within ±20 % of its entry and they vary
    for index, base in enumerate(schedule):
        draws = [retry_delay(settings, index) for _ in range(200)]
        assert all(d is not None and base * 0.8 <= d <= base * 1.2 for d in draws)
        assert len(set(draws)) > 1
    # AND after the last entry there is no retry
    assert retry_delay(settings, len(schedule)) is None


def test_retry_after_lengthens_but_never_shortens_a_wait() -> None:
    settings = Settings(webhook_retry_schedule_seconds=[10], webhook_retry_jitter=0)
    assert retry_delay(settings, 0, retry_after=60) == 60
    assert retry_delay(settings, 0, retry_after=2) == 10


@pytest.fixture
def queued() -> list[tuple[int, float]]:
    return []


def recording_service(world: World, queued: list[tuple[int, float]]) -> Any:
    """The real service on the stack's table, whose queueing is recorded instead of sent."""
    service = create_webhook_service(world.table, world.sqs, queue_url="unused")

    def enqueue(delivery: dict[str, Any], attempt: int, *, delay_seconds: float) -> None:
        queued.append((attempt, delay_seconds))

    return dataclasses.replace(service, enqueue=enqueue)


def pending_delivery(world: World, receiver: Receiver, **values: Any) -> tuple[WebhookJob, dict[str, Any]]:
    """A delivery (its first job sent to an unpolled queue) with ``values`` written over it."""
    session = world.session(receiver.url())
    event_id = world.emit(session, queue="WebhooksDLQ")
    delivery_id = delivery_id_for(event_id)
    key = {"pk": f"TENANT#{world.tenant.tenant_id}", "sk": f"DELIVERY#{delivery_id}"}
    if values:
        names = {f"#a{i}": k for i, k in enumerate(values)}
        vals = {f":a{i}": v for i, v in enumerate(values.values())}
        world.table.update_item(
            Key=key,
            UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=vals,
        )
    attempt = int(values.get("attempt_count", 0)) + 1
    job = WebhookJob(
        job_id=delivery_id, tenant_id=world.tenant.tenant_id, delivery_id=delivery_id, attempt=attempt
    )
    return job, key


def test_a_wait_longer_than_fifteen_minutes_is_chained(
    world: World, receiver: Receiver, queued: list[tuple[int, float]]
) -> None:
    # GIVEN attempt 2 is due in two hours (after attempt 1 failed)
    job, _ = pending_delivery(world, receiver, attempt_count=1, next_attempt_at=iso_in(7200))
    service = recording_service(world, queued)
    # WHEN its message arrives early THEN it goes back on the queue for one 15-minute hop, unsent
    assert deliver(job, service=service, settings=get_settings()) == "waiting"
    assert queued == [(2, 900)]
    assert receiver.requests == []


def test_the_last_hop_waits_only_the_remainder(
    world: World, receiver: Receiver, queued: list[tuple[int, float]]
) -> None:
    # GIVEN attempt 2 is due in 100 s
    job, _ = pending_delivery(world, receiver, attempt_count=1, next_attempt_at=iso_in(100))
    assert deliver(job, service=recording_service(world, queued), settings=get_settings()) == "waiting"
    [(attempt, delay)] = queued
    assert attempt == 2 and 90 <= delay <= 100  # the remainder, less what a loaded machine took


def test_a_recorded_attempt_whose_successor_was_not_queued_is_requeued(
    world: World, receiver: Receiver, queued: list[tuple[int, float]]
) -> None:
    # GIVEN attempt 1 was recorded and the delivery is PENDING, but the worker died before queueing 2
    job, _ = pending_delivery(world, receiver, attempt_count=1, next_attempt_at=iso_in(30))
    stale = job.model_copy(update={"attempt": 1})
    # WHEN attempt 1's message comes back THEN attempt 2 is queued for its due time, and nothing sent
    assert deliver(stale, service=recording_service(world, queued), settings=get_settings()) == "duplicate"
    [(attempt, delay)] = queued
    assert attempt == 2 and 20 <= delay <= 30  # its due time, less what a loaded machine took
    assert receiver.requests == []


def test_a_client_error_fails_without_retry(world: World, receiver: Receiver) -> None:
    # GIVEN a receiver that answers 400 Bad Request
    receiver.plan = [400]
    session = world.session(receiver.url())
    world.emit(session)
    # THEN the delivery fails after one attempt, saying why, and is kept
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "FAILED"
    assert [a["response_code"] for a in delivery["attempts"]] == [400]
    assert delivery["attempts"][0]["response_excerpt"] == "answer 400"
    assert "400" in delivery["failure_reason"]


def test_an_internal_fault_is_recorded_and_follows_the_schedule(
    world: World, receiver: Receiver, queued: list[tuple[int, float]]
) -> None:
    # GIVEN a delivery whose signing secrets cannot be read (a fault of ours, not the receiver's)
    job, _ = pending_delivery(world, receiver)

    def broken(tenant_id: str) -> list[str]:
        raise RuntimeError("secrets unavailable")

    service = dataclasses.replace(recording_service(world, queued), signing_secrets=broken)
    # WHEN the attempt runs THEN the record fails (SQS will see it) ...
    with pytest.raises(RuntimeError):
        deliver(job, service=service, settings=get_settings())
    # ... AND the attempt is recorded and the next one queued, so the claim does not linger
    stored = service.get_delivery(tenant_id=world.tenant.tenant_id, delivery_id=job.delivery_id)
    assert stored["status"] == "PENDING" and stored["attempt_count"] == 1
    assert stored["attempts"][0]["error"] == "internal error: RuntimeError"
    assert [attempt for attempt, _ in queued] == [2]
    assert receiver.requests == []
