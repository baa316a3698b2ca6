"""The ``api`` function: API Gateway HTTP API (payload 2.0) sample events through Mangum to the app."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from agentflow.local.runner import Handler, LambdaContext, load_handler
from agentflow.local.stack import LocalStack

from .support import UNAUTHORIZED, Caller

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "api"


@pytest.fixture(scope="module")
def lambda_handler(stack: LocalStack) -> Handler:
    """``functions/api/handler.py`` imported as Lambda would, after the stack set the environment."""
    return load_handler(ROOT / "functions" / "api" / "handler.py")


def _event(name: str, **values: str) -> dict[str, Any]:
    """A sample event with its ``{{PLACEHOLDERS}}`` filled in."""
    text = (EVENTS / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {name}"
    event: dict[str, Any] = json.loads(text)
    return event


def _invoke(handler: Handler, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = handler(event, LambdaContext(function_name="api", timeout_seconds=29))
    assert response["isBase64Encoded"] is False
    return response["statusCode"], response["headers"], json.loads(response["body"])


def test_sample_events_create_get_end_and_delete_a_session(
    lambda_handler: Handler, alice: Caller, ddb: Any
) -> None:
    key = alice.tenant.api_key
    idem = str(uuid.uuid4())

    # WHEN the create event arrives
    status, headers, created = _invoke(
        lambda_handler, _event("create_session.json", API_KEY=key, IDEMPOTENCY_KEY=idem)
    )
    # THEN 201 and a scheduled session with widget URLs; API Gateway's request id is the correlation id
    assert status == 201, created
    sid = created["session_id"]
    assert created["status"] == "scheduled"
    assert created["host"] == {"name": "Dr. Ada Host", "external_user_id": "crm-4711"}
    assert set(created["widget_urls"]) == {"host", "client"}
    assert headers["x-correlation-id"] == "Vt1aXgJ0IAMEbXw="
    # AND the same event again (a Lambda retry) is an idempotent replay
    status, headers, replay = _invoke(
        lambda_handler, _event("create_session.json", API_KEY=key, IDEMPOTENCY_KEY=idem)
    )
    assert (status, replay["session_id"], headers["idempotent-replayed"]) == (201, sid, "true")

    # WHEN the get, end and delete events arrive for it
    status, _, got = _invoke(lambda_handler, _event("get_session.json", API_KEY=key, SESSION_ID=sid))
    assert (status, got["session_id"], got["status"]) == (200, sid, "scheduled")
    status, _, ended = _invoke(lambda_handler, _event("end_session.json", API_KEY=key, SESSION_ID=sid))
    assert (status, ended["status"]) == (200, "ended")
    assert ended["ended_at"]
    status, _, deleted = _invoke(lambda_handler, _event("delete_session.json", API_KEY=key, SESSION_ID=sid))
    assert (status, deleted["status"]) == (200, "DELETED")

    # THEN the session is gone from the API, and kept in the table
    status, _, gone = _invoke(lambda_handler, _event("get_session.json", API_KEY=key, SESSION_ID=sid))
    assert (status, gone) == (404, {"detail": f"Session {sid} not found"})
    item = ddb.get_item(Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"SESSION#{sid}"})["Item"]
    assert item["status"] == "DELETED"
    assert item["deleted_by"] == f"key:{alice.tenant.key_id}"
    # AND the HTTP API sees what the Lambda path did (one backend)
    assert alice.get(sid).status_code == 404


def test_events_without_a_valid_key_are_401(lambda_handler: Handler, alice: Caller) -> None:
    sid = alice.create_ok()["session_id"]
    for name in ("create_session.json", "get_session.json", "end_session.json", "delete_session.json"):
        event = _event(name, API_KEY="af_revoked-or-unknown", SESSION_ID=sid, IDEMPOTENCY_KEY="k")
        status, headers, body = _invoke(lambda_handler, event)
        assert (status, body) == (401, UNAUTHORIZED), name
        assert headers["www-authenticate"] == "Bearer"
    assert alice.get(sid).json()["status"] == "scheduled"


def test_unknown_route_event_is_404_json(lambda_handler: Handler, alice: Caller) -> None:
    event = _event("get_session.json", API_KEY=alice.tenant.api_key, SESSION_ID="x")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/nothing-here"
    status, headers, body = _invoke(lambda_handler, event)
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert body == {"detail": "Not Found"}
