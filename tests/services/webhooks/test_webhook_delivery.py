"""Webhook delivery end to end: the real local stack, the real poller, a real receiver on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
from agentflow.aws import records
from agentflow.aws.clients import client
from agentflow.schemas.messages import WebhookJob
from agentflow.services.webhooks import create_webhook_service, delivery_id_for
from agentflow.settings import get_settings
from agentflow.stages.deliver import deliver
from agentflow.webhooks import WebhookVerificationError, verify

from tests.services.webhooks.support import Receiver, World, final


def delivery_items(world: World, session_id: str) -> list[dict[str, Any]]:
    """Every DELIVERY item of a session straight from the table (not through the API)."""
    items, _ = records.query_live(world.table, f"SESSION#{session_id}", sk_prefix="DELIVERY#", index="gsi1")
    return items


def test_successful_delivery_is_signed_and_verifiable(world: World, receiver: Receiver) -> None:
    # GIVEN a session whose webhook URL is the local receiver
    session = world.session(receiver.url())
    # WHEN an event is emitted
    event_id = world.emit(session)
    # THEN the delivery succeeds on its first attempt
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "DELIVERED"
    assert delivery["attempt_count"] == 1
    [attempt] = delivery["attempts"]
    assert attempt["status"] == "succeeded"
    assert attempt["response_code"] == 200
    assert attempt["latency_ms"] >= 0 and attempt["error"] is None
    # AND the receiver got one POST that the integrator helper verifies with the tenant's secret
    [request] = receiver.wait_for(1)
    assert request.path == "/hook"
    assert request.headers["webhook-id"] == event_id
    assert request.headers["content-type"] == "application/json"
    event = verify(request.body, request.headers, world.tenant.webhook_secret)
    assert event["id"] == event_id and event["type"] == "summary.ready"
    assert event["data"] == {
        "session_id": session["session_id"],
        "recording_id": "rec_1",
        "summary_id": "sum_1",
        "signature_id": "sig_1",
        "score": 0.5,
    }
    assert event["version"] and event["timestamp"].endswith("Z")
    # AND the body is exactly the stored event, which the API shows beside the attempts
    assert delivery["event"] == event
    # AND a wrong secret or a changed body does not verify
    other = "whsec_" + "A" * 43 + "="
    for body, secret in (
        (request.body, other),
        (request.body.replace(b"sum_1", b"sum_2"), world.tenant.webhook_secret),
    ):
        try:
            verify(body, request.headers, secret)
        except WebhookVerificationError:
            continue
        raise AssertionError("a forged delivery verified")


def test_two_failures_then_success_records_three_attempts(world: World, receiver: Receiver) -> None:
    # GIVEN a receiver that answers 500, then 503, then 200
    receiver.plan = [500, 503]
    session = world.session(receiver.url())
    # WHEN an event is emitted
    event_id = world.emit(session)
    # THEN three attempts are recorded, the last one the only success
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "DELIVERED"
    assert [a["response_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert [a["status"] for a in delivery["attempts"]] == ["failed", "failed", "succeeded"]
    assert [a["attempt"] for a in delivery["attempts"]] == [1, 2, 3]
    assert delivery["attempts"][0]["error"] == "HTTP 500"
    assert delivery["attempts"][0]["next_attempt_at"]
    # AND the retries waited for the schedule (1 s each), re-enqueued with an SQS delay
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    # AND every attempt carries the same webhook-id and its own valid signature
    assert {r.headers["webhook-id"] for r in requests} == {event_id}
    for request in requests:
        verify(request.body, request.headers, world.tenant.webhook_secret)


def test_timeout_is_retried(world: World, receiver: Receiver) -> None:
    # GIVEN a receiver that takes longer than the POST timeout (1 s here) once
    receiver.plan = [("sleep", 2.0)]
    session = world.session(receiver.url())
    # WHEN an event is emitted
    world.emit(session)
    # THEN the first attempt is recorded as a timeout and the second delivers
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "DELIVERED"
    first, second = delivery["attempts"]
    assert first["response_code"] is None and first["error"].startswith("timeout")
    assert second["response_code"] == 200


def test_gone_disables_the_endpoint_and_redelivery_enables_it(world: World, receiver: Receiver) -> None:
    # GIVEN a receiver that answers 410 Gone
    receiver.plan = [410]
    session = world.session(receiver.url())
    world.emit(session, key="rec_1:summary.ready")
    # THEN the delivery fails at once (no retry) and the endpoint is disabled
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "FAILED"
    assert [a["response_code"] for a in delivery["attempts"]] == [410]
    assert "410" in delivery["failure_reason"]
    service = create_webhook_service(world.table, world.sqs, queue_url=world.stack.ref("WebhooksQueue"))
    assert service.endpoint_disabled(tenant_id=world.tenant.tenant_id, url=receiver.url())
    # WHEN another event for the same endpoint is emitted (another session, same URL)
    other = world.session(receiver.url())
    world.emit(other, key="rec_2:summary.ready")
    # THEN it is not POSTed: recorded as skipped and failed
    skipped = world.wait_delivery(other["session_id"], final)
    assert skipped["status"] == "FAILED"
    assert [a["status"] for a in skipped["attempts"]] == ["skipped"]
    time.sleep(0.5)
    assert len(receiver.requests) == 1
    # WHEN the integrator redelivers the first one
    response = world.api("POST", f"/v1/webhook-deliveries/{delivery['delivery_id']}/redeliver")
    assert response.status_code == 202, response.text
    # THEN the endpoint is enabled again and the delivery succeeds in a second round
    again = world.wait_delivery(session["session_id"], lambda d: d["status"] == "DELIVERED")
    assert [a["response_code"] for a in again["attempts"]] == [410, 200]
    assert again["redelivery_count"] == 1
    assert not service.endpoint_disabled(tenant_id=world.tenant.tenant_id, url=receiver.url())


def test_exhausted_retries_fail_and_redelivery_replays(world: World, receiver: Receiver) -> None:
    # GIVEN a receiver that fails every attempt of the first round (1 + 2 retries)
    receiver.plan = [500, 502, 504]
    session = world.session(receiver.url())
    world.emit(session)
    # THEN the delivery is marked FAILED after the last attempt and kept
    failed = world.wait_delivery(session["session_id"], final)
    assert failed["status"] == "FAILED"
    assert [a["response_code"] for a in failed["attempts"]] == [500, 502, 504]
    assert failed["failure_reason"].startswith("gave up")
    # WHEN it is redelivered through the API
    response = world.api("POST", f"/v1/webhook-deliveries/{failed['delivery_id']}/redeliver")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "PENDING"
    # THEN a new round delivers it: same record, same event id, one more attempt
    done = world.wait_delivery(session["session_id"], lambda d: d["status"] == "DELIVERED")
    assert [a["response_code"] for a in done["attempts"]] == [500, 502, 504, 200]
    requests = receiver.wait_for(4)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len(delivery_items(world, session["session_id"])) == 1


def test_redeliver_is_refused_while_pending_and_for_other_tenants(world: World, receiver: Receiver) -> None:
    # GIVEN a delivery that is still being retried (the receiver keeps failing, slowly)
    receiver.plan = [500, 500, 500]
    session = world.session(receiver.url())
    world.emit(session)
    delivery = world.wait_delivery(session["session_id"], lambda d: d["attempt_count"] >= 1)
    # WHEN it is redelivered before it finished THEN 409
    if delivery["status"] not in ("DELIVERED", "FAILED"):
        response = world.api("POST", f"/v1/webhook-deliveries/{delivery['delivery_id']}/redeliver")
        assert response.status_code == 409, response.text
    # AND another tenant can neither see nor redeliver it
    stranger = world.new_tenant("stranger")
    assert stranger.api("GET", f"/v1/webhook-deliveries/{delivery['delivery_id']}").status_code == 404
    response = stranger.api("POST", f"/v1/webhook-deliveries/{delivery['delivery_id']}/redeliver")
    assert response.status_code == 404
    response = stranger.api("GET", "/v1/webhook-deliveries", params={"session_id": session["session_id"]})
    assert response.status_code == 404
    # AND without an API key the log is not served
    anonymous = world.stack.api_url + "/v1/webhook-deliveries"
    assert httpx.get(anonymous, params={"session_id": session["session_id"]}, timeout=10).status_code == 401
    world.wait_delivery(session["session_id"], final)


def test_duplicate_sqs_messages_make_one_delivery(world: World, receiver: Receiver) -> None:
    # GIVEN a session with a webhook and an event emitted twice (as a retried stage would)
    session = world.session(receiver.url())
    event_id = world.emit(session)
    assert world.emit(session) == event_id
    # AND the same queue message sent twice more by hand (SQS at-least-once delivery)
    delivery_id = delivery_id_for(event_id)
    job = WebhookJob(
        job_id=delivery_id, tenant_id=world.tenant.tenant_id, delivery_id=delivery_id, attempt=1
    ).model_dump_json()
    for _ in range(2):
        client("sqs").send_message(QueueUrl=world.stack.ref("WebhooksQueue"), MessageBody=job)
    # THEN there is one delivery record with one attempt and the receiver got one POST
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "DELIVERED" and delivery["attempt_count"] == 1
    time.sleep(2.5)  # every duplicate has been received and dropped by now
    assert len(receiver.requests) == 1
    assert len(delivery_items(world, session["session_id"])) == 1
    assert world.deliveries(session["session_id"])[0]["attempt_count"] == 1
    # AND a late duplicate of an old attempt after the delivery finished changes nothing
    client("sqs").send_message(QueueUrl=world.stack.ref("WebhooksQueue"), MessageBody=job)
    time.sleep(2.5)
    assert len(receiver.requests) == 1


def test_duplicate_backs_off_while_an_attempt_is_held_and_takes_over_a_dead_one(
    world: World, receiver: Receiver
) -> None:
    # GIVEN a delivery whose job went to a queue nobody polls (the test plays the workers)
    session = world.session(receiver.url())
    event_id = world.emit(session, queue="WebhooksDLQ")
    delivery_id = delivery_id_for(event_id)
    settings = get_settings()
    service = create_webhook_service(world.table, world.sqs, queue_url=world.stack.ref("WebhooksDLQ"))
    job = WebhookJob(job_id=delivery_id, tenant_id=world.tenant.tenant_id, delivery_id=delivery_id)
    # AND worker A has claimed attempt 1 and is (as far as anyone knows) POSTing right now
    pending = service.get_delivery(tenant_id=world.tenant.tenant_id, delivery_id=delivery_id)
    held = service.claim(pending, 1, lease_seconds=30)
    assert held is not None and held["status"] == "DELIVERING"
    # WHEN worker B gets a duplicate of the same message
    # THEN it does not POST: it puts the message back for when A's lease ends
    assert deliver(job, service=service, settings=settings) == "busy"
    # AND a second claim of the same attempt is refused
    assert service.claim(pending, 1, lease_seconds=30) is None
    time.sleep(0.3)
    assert receiver.requests == []
    # WHEN A died instead (its lease ran out without a result)
    world.table.update_item(
        Key={"pk": held["pk"], "sk": held["sk"]},
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 5},
    )
    # THEN the next copy of the message takes the attempt over and delivers once
    assert deliver(job, service=service, settings=settings) == "delivered"
    assert deliver(job, service=service, settings=settings) == "duplicate"
    assert len(receiver.wait_for(1)) == 1
    stored = service.get_delivery(tenant_id=world.tenant.tenant_id, delivery_id=delivery_id)
    assert stored["status"] == "DELIVERED" and len(stored["attempts"]) == 1
    # AND A's late result, should it come back, is not recorded over the takeover's
    late = {"attempt": 1, "started_at": "2026-01-01T00:00:00.000Z", "status": "succeeded"}
    assert service.finish(held, late, status="DELIVERED") is None


def test_secret_rotation_signs_with_both_secrets(world: World, receiver: Receiver) -> None:
    # GIVEN a tenant that rotates its webhook secret through the API
    response = world.api("POST", "/v1/webhook-secret/rotate")
    assert response.status_code == 200, response.text
    new_secret = response.json()["webhook_secret"]
    assert new_secret.startswith("whsec_") and new_secret != world.tenant.webhook_secret
    session = world.session(receiver.url())
    # WHEN an event is delivered during the grace period
    world.emit(session)
    world.wait_delivery(session["session_id"], final)
    [request] = receiver.wait_for(1)
    # THEN it carries two signatures, and each secret alone verifies it
    assert len(request.headers["webhook-signature"].split()) == 2
    verify(request.body, request.headers, world.tenant.webhook_secret)
    verify(request.body, request.headers, new_secret)
    # AND once the grace period is over only the new secret signs
    after_grace = create_webhook_service(world.table, world.sqs, queue_url="", secret_grace_seconds=0)
    assert after_grace.signing_secrets(world.tenant.tenant_id) == [new_secret]


def test_localhost_name_is_resolved_and_delivered_in_local_mode(world: World, receiver: Receiver) -> None:
    # GIVEN local mode and a webhook URL naming localhost (resolved, then connected to by address)
    session = world.session(receiver.url(host="localhost"))
    world.emit(session)
    # THEN it is delivered with the name in the Host header
    delivery = world.wait_delivery(session["session_id"], final)
    assert delivery["status"] == "DELIVERED"
    [request] = receiver.wait_for(1)
    assert request.headers["host"] == f"localhost:{receiver.port}"
    assert json.loads(request.body)["type"] == "summary.ready"
