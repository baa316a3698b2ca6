"""Sessions over real HTTP: create, get, list (cursor, newest first, status), end, soft delete."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx
from agentflow.aws.clients import client
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.services import recordings as recs
from agentflow.settings import get_settings

from .support import Caller, session_body, token_of, unknown_session_id


def test_create_returns_201_with_id_widget_urls_and_scheduled_status(alice: Caller) -> None:
    # GIVEN a tenant with an API key
    # WHEN it creates a session
    response = alice.create(session_body(webhook_url="http://127.0.0.1:9/hooks"))

    # THEN 201 with the seed's fields, and the session as sent
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["session_id"].startswith("ses_")
    assert body["status"] == "scheduled"
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert body["host"] == {"name": "Dr. Ada Host", "external_user_id": "u-1"}
    assert body["client"]["name"] == "Bob Client"
    assert body["auto_start_recording"] is True
    assert body["webhook_url"] == "http://127.0.0.1:9/hooks"
    assert body["recordings"] == []
    assert "Idempotent-Replayed" not in response.headers
    # AND each widget URL points at the widget for this session with its own role's token
    for role in ("host", "client"):
        url = httpx.URL(body["widget_urls"][role])
        assert url.path.endswith(f"/widget/{body['session_id']}")
        claims = join_tokens.verify(
            token_of(str(url)),
            secrets=client("secretsmanager"),
            secret_id=get_settings().join_token_secret_arn,
        )
        assert (claims.session_id, claims.tenant_id, claims.role) == (
            body["session_id"],
            alice.tenant.tenant_id,
            role,
        )


def test_join_token_expiry_defaults_to_24_hours(alice: Caller) -> None:
    # GIVEN the default settings  WHEN a session is created
    created = alice.create_ok()
    claims = join_tokens.verify(
        token_of(created["widget_urls"]["host"]),
        secrets=client("secretsmanager"),
        secret_id=get_settings().join_token_secret_arn,
    )
    # THEN its tokens expire 24 h after creation (within a minute's slack)
    created_at = datetime.fromisoformat(created["created_at"]).timestamp()
    assert abs(claims.exp - (created_at + 24 * 3600)) < 60


def test_get_returns_the_session_and_its_stored_audit_fields(alice: Caller, ddb: Any) -> None:
    # GIVEN a session
    created = alice.create_ok()
    # WHEN it is read back
    response = alice.get(created["session_id"])
    # THEN it is the same session, without the widget URLs
    assert response.status_code == 200
    got = response.json()
    assert "widget_urls" not in got
    assert {k: got[k] for k in ("session_id", "status", "host", "client", "created_at")} == {
        k: created[k] for k in ("session_id", "status", "host", "client", "created_at")
    }
    # AND the table holds it under the tenant with created/updated at/by
    item = ddb.get_item(
        Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"SESSION#{created['session_id']}"}
    )["Item"]
    assert item["created_by"] == item["updated_by"] == f"key:{alice.tenant.key_id}"
    assert item["created_at"] == item["updated_at"]


def test_get_unknown_id_is_404_with_the_seed_message(alice: Caller) -> None:
    missing = unknown_session_id()
    response = alice.get(missing)
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session {missing} not found"}


def test_list_pages_newest_first_with_a_cursor(alice: Caller) -> None:
    # GIVEN five sessions created one after another
    ids = [alice.create_ok()["session_id"] for _ in range(5)]

    # WHEN the tenant pages through them two at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    for _ in range(10):  # bounded: 5 items, 2 per page
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = alice.list(**params)
        assert page.status_code == 200, page.text
        body = page.json()
        pages += 1
        assert len(body["items"]) <= 2
        seen += [s["session_id"] for s in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    # THEN every session appears once, newest first, in three pages
    assert seen == list(reversed(ids))
    assert pages == 3


def test_list_filters_by_status_and_hides_deleted(alice: Caller) -> None:
    # GIVEN one scheduled, two ended and one deleted session
    scheduled = alice.create_ok()["session_id"]
    ended = [alice.create_ok()["session_id"] for _ in range(2)]
    for sid in ended:
        assert alice.end(sid).status_code == 200
    deleted = alice.create_ok()["session_id"]
    assert alice.delete(deleted).status_code == 200

    # WHEN listing by status, and without one
    only_ended = [s["session_id"] for s in alice.list(status="ended").json()["items"]]
    only_scheduled = [s["session_id"] for s in alice.list(status="scheduled").json()["items"]]
    everything = [s["session_id"] for s in alice.list().json()["items"]]

    # THEN each filter returns its sessions newest first, and the deleted one never appears
    assert only_ended == list(reversed(ended))
    assert only_scheduled == [scheduled]
    assert everything == [*reversed(ended), scheduled]


def test_list_with_a_status_filter_pages_past_non_matching_items(alice: Caller) -> None:
    # GIVEN one ended session older than three scheduled ones
    ended = alice.create_ok()["session_id"]
    assert alice.end(ended).status_code == 200
    for _ in range(3):
        alice.create_ok()
    # WHEN listing ended sessions one per page
    page = alice.list(status="ended", limit=1).json()
    # THEN the filter reaches past the newer scheduled sessions to find it
    assert [s["session_id"] for s in page["items"]] == [ended]


def test_list_only_shows_the_callers_sessions(alice: Caller, bob: Caller) -> None:
    mine = alice.create_ok()["session_id"]
    bob.create_ok()
    assert [s["session_id"] for s in alice.list().json()["items"]] == [mine]


def test_a_cursor_from_another_tenant_or_garbage_is_422_on_cursor(alice: Caller, bob: Caller) -> None:
    # GIVEN a cursor from bob's listing
    for _ in range(2):
        bob.create_ok()
    bobs_cursor = bob.list(limit=1).json()["next_cursor"]
    assert bobs_cursor

    def encode(key: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()

    own = f"TENANT#{alice.tenant.tenant_id}"
    forged = [
        bobs_cursor,
        "not base64 !!",
        encode({}),
        encode(["pk", "sk"]),
        encode({"pk": own, "sk": 5}),  # a number where DynamoDB wants a string
        encode({"pk": own, "sk": "APIKEY#x"}),  # not a session key
        encode({"pk": own, "sk": "SESSION#x", "gsi1pk": "y"}),
    ]
    for cursor in forged:
        # WHEN alice uses it
        response = alice.list(cursor=cursor)
        # THEN it is rejected as a bad cursor, never a 500 and never bob's data
        assert response.status_code == 422, (cursor, response.text)
        assert response.json()["detail"]["field"] == "cursor"


def test_end_sets_status_ended_at_and_updated_by(alice: Caller, ddb: Any) -> None:
    # GIVEN a scheduled session
    sid = alice.create_ok()["session_id"]
    # WHEN it is ended
    response = alice.end(sid)
    # THEN it is ended, and the table records when and by whom
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ended"
    assert body["ended_at"] is not None
    item = ddb.get_item(Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"SESSION#{sid}"})["Item"]
    assert item["status"] == "ended"
    assert item["updated_by"] == f"key:{alice.tenant.key_id}"
    assert item["ended_at"] == item["updated_at"]
    # AND ending it again changes nothing
    again = alice.end(sid)
    assert again.status_code == 200
    assert again.json()["ended_at"] == body["ended_at"]


def test_end_starts_the_pipeline_for_a_recording_that_waited(
    alice: Caller, ddb: Any, stack: LocalStack
) -> None:
    # GIVEN a session that does not auto-start, with an uploaded recording waiting for its end
    session = alice.create_ok(session_body(auto_start_recording=False))
    sid = session["session_id"]
    grant = alice.http.post(
        f"/v1/sessions/{sid}/recordings",
        json={"filename": "call.webm", "content_type": "video/webm"},
        headers=alice.auth,
    )
    assert grant.status_code == 201, grant.text
    recording = recs.get_recording(
        ddb, tenant_id=alice.tenant.tenant_id, recording_id=grant.json()["recording_id"]
    )
    assert recs.transition(ddb, recording, to="UPLOADED", from_=("PENDING_UPLOAD",)) is not None

    # WHEN the session is ended
    assert alice.end(sid).status_code == 200

    # THEN the recording is processing and one job went to each analysis queue
    stored = recs.get_recording(ddb, tenant_id=alice.tenant.tenant_id, recording_id=recording["recording_id"])
    assert stored["status"] == "PROCESSING"
    for queue in ("TranscribeQueue", "DiarizeQueue"):
        messages = client("sqs").receive_message(QueueUrl=stack.ref(queue), MaxNumberOfMessages=10)
        jobs = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        assert [j["recording_id"] for j in jobs] == [recording["recording_id"]]


def test_delete_soft_deletes_and_keeps_the_item_with_audit_fields(alice: Caller, ddb: Any) -> None:
    # GIVEN a session
    sid = alice.create_ok()["session_id"]
    # WHEN it is deleted
    response = alice.delete(sid)
    assert response.status_code == 200
    assert response.json()["status"] == "DELETED"

    # THEN the API no longer sees it: get, end and delete are 404 with the missing-id body
    for call in (alice.get, alice.end, alice.delete):
        gone = call(sid)
        assert gone.status_code == 404
        assert gone.json() == {"detail": f"Session {sid} not found"}
    assert sid not in [s["session_id"] for s in alice.list().json()["items"]]

    # AND the item is still in the table, marked DELETED, with who and when
    item = ddb.get_item(
        Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"SESSION#{sid}"}, ConsistentRead=True
    )["Item"]
    actor = f"key:{alice.tenant.key_id}"
    assert item["status"] == "DELETED"
    assert item["deleted_by"] == actor
    assert item["updated_by"] == actor
    assert item["created_by"] == actor
    assert item["deleted_at"] == item["updated_at"]
    assert item["created_at"] <= item["deleted_at"]
    assert item["host"]["name"] == "Dr. Ada Host"  # the record itself is intact
