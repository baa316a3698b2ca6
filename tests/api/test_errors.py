"""Errors as JSON: 422 with field and message, 404 for unknown routes, no 500 for bad input;
correlation ids per request; no API keys, tokens or secrets in the logs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentflow.api import app as app_module
from agentflow.aws.clients import client
from agentflow.settings import get_settings

from .support import Caller, bearer, session_body, token_of, unknown_session_id


def _first_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    detail: dict[str, Any] = body["detail"]
    assert set(detail) == {"field", "message"}
    assert detail["message"]
    return detail


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"client": {"name": "b"}}, "host", "Field required"),
        ({**session_body(), "host": {}}, "host.name", "Field required"),
        ({**session_body(), "host": {"name": ""}}, "host.name", "at least 1 character"),
        ({**session_body(), "host": {"name": "x" * 101}}, "host.name", "at most 100 characters"),
        ({**session_body(), "surprise": 1}, "surprise", "Extra inputs are not permitted"),
        ({**session_body(), "auto_start_recording": "perhaps"}, "auto_start_recording", "boolean"),
        ({**session_body(), "auto_start_recording": 0}, "auto_start_recording", "boolean"),
        ({**session_body(), "num_speakers": "2"}, "num_speakers", "integer"),
        ({**session_body(), "webhook_url": ""}, "webhook_url", "at least 1 character"),
        ({**session_body(), "min_speakers": 3, "max_speakers": 2}, "body", "min_speakers"),
        ({**session_body(), "webhook_url": "ftp://example.com/x"}, "webhook_url", "http(s)"),
        ([1, 2], "body", "valid dictionary"),
    ],
    ids=[
        "no-host",
        "no-name",
        "empty-name",
        "long-name",
        "extra",
        "bool",
        "int-for-bool",
        "str-for-int",
        "empty-webhook",
        "speakers",
        "webhook",
        "list",
    ],
)
def test_invalid_create_bodies_are_422_with_field_and_message(
    alice: Caller, body: Any, field: str, message: str
) -> None:
    response = alice.http.post("/v1/sessions", json=body, headers=alice.auth)
    detail = _first_error(response)
    assert detail["field"] == field
    assert message in detail["message"]
    assert alice.list().json()["items"] == []  # nothing was created


def test_malformed_json_is_422_on_body(alice: Caller) -> None:
    response = alice.http.post(
        "/v1/sessions",
        content=b'{"host": {"name": "a"',
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert _first_error(response)["field"] == "body"


def test_every_validation_error_is_listed(alice: Caller) -> None:
    response = alice.http.post("/v1/sessions", json={}, headers=alice.auth)
    _first_error(response)
    assert {e["field"] for e in response.json()["errors"]} == {"host", "client"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "DELETED"}, "status"),
        ({"status": "bogus"}, "status"),
        ({"cursor": "x" * 2001}, "cursor"),
    ],
)
def test_invalid_list_parameters_are_422(alice: Caller, params: dict[str, Any], field: str) -> None:
    assert _first_error(alice.list(**params))["field"] == field


def test_malformed_session_ids_are_422_not_500(alice: Caller) -> None:
    for bad in ("nope", "ses_" + "a" * 2000, "ses_UPPERCASE0000000000000000", "ses_%00"):
        for call in (alice.get, alice.end, alice.delete):
            assert _first_error(call(bad))["field"] == "session_id"


def test_overlong_idempotency_key_is_422(alice: Caller) -> None:
    response = alice.create(session_body(), **{"Idempotency-Key": "k" * 201})
    assert _first_error(response)["field"] == "idempotency-key"


def test_unknown_routes_and_methods_answer_json(http: httpx.Client, alice: Caller) -> None:
    sid = unknown_session_id()
    for method, path, code in [
        ("GET", "/nope", 404),
        ("GET", "/v2/sessions", 404),
        ("POST", f"/v1/sessions/{sid}/restart", 404),
        ("PUT", "/v1/sessions", 405),
        ("PATCH", f"/v1/sessions/{sid}", 405),
    ]:
        response = http.request(method, path, headers=alice.auth)
        assert response.status_code == code, (method, path)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["detail"]


# ------------------------------------------------------------------------------- logs


class _Collect(logging.Handler):
    """Keeps every formatted record, as the log stream would carry it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[_Collect]:
    """The API's Powertools log (JSON, at DEBUG) plus every agentflow and uvicorn logger."""
    collect = _Collect()
    collect.setFormatter(app_module.logger.registered_formatter)
    plain = _Collect()
    watched = [logging.getLogger(n) for n in ("agentflow-api", "agentflow", "uvicorn", "mangum")]
    levels = [w.level for w in watched]
    api_log = watched[0]
    api_log.addHandler(collect)
    for w in watched[1:]:
        w.addHandler(plain)
    for w in watched:
        w.setLevel(logging.DEBUG)
    yield collect
    collect.lines += plain.lines
    api_log.removeHandler(collect)
    for w, level in zip(watched, levels, strict=True):
        w.removeHandler(plain)
        w.setLevel(level)


def test_each_request_logs_one_line_with_its_correlation_id(alice: Caller, logs: _Collect) -> None:
    # WHEN one request brings its correlation id and another does not
    given = f"corr-{uuid.uuid4()}"
    echoed = alice.http.get("/v1/sessions", headers={**alice.auth, "X-Correlation-Id": given})
    fresh = alice.list()
    odd = alice.http.get("/v1/sessions", headers={**alice.auth, "X-Correlation-Id": "has spaces\tand tabs"})

    # THEN the given id is echoed, the others get new ids (a bad one is not echoed)
    assert echoed.headers["x-correlation-id"] == given
    generated = fresh.headers["x-correlation-id"]
    assert str(uuid.UUID(generated)) == generated
    assert odd.headers["x-correlation-id"] != "has spaces\tand tabs"
    # AND each request's log line carries its own id, method, path and status
    for response in (echoed, fresh, odd):
        cid = response.headers["x-correlation-id"]
        lines = [line for line in logs.lines if cid in line]
        assert len(lines) == 1, lines
        assert '"path":"/v1/sessions"' in lines[0].replace(" ", "")
        assert '"status":200' in lines[0].replace(" ", "")


def test_no_api_key_token_or_secret_reaches_the_logs(alice: Caller, logs: _Collect) -> None:
    # GIVEN a tenant's key and webhook secret, a session's tokens and the token signing secret
    created = alice.create_ok()
    sid = created["session_id"]
    tokens = [token_of(created["widget_urls"][role]) for role in ("host", "client")]
    signing_secret = client("secretsmanager").get_secret_value(SecretId=get_settings().join_token_secret_arn)[
        "SecretString"
    ]
    wrong_key = "af_wrong-" + uuid.uuid4().hex

    # WHEN they are used in good and bad requests of every kind
    alice.create(session_body(), **{"Idempotency-Key": "idem-1"})
    alice.list()
    alice.http.get(f"/v1/sessions/{sid}", headers=bearer(tokens[0]))
    alice.http.get(f"/v1/sessions/{sid}?token={tokens[1]}", headers=bearer(tokens[1]))
    alice.http.get("/v1/sessions", headers=bearer(wrong_key))
    alice.http.get("/v1/sessions", headers=bearer(tokens[0]))  # a token where a key is needed
    invalid = alice.http.post("/v1/sessions", json={"host": alice.tenant.api_key}, headers=alice.auth)
    assert invalid.status_code == 422
    assert alice.tenant.api_key not in invalid.text  # errors do not echo the input
    alice.end(sid)
    alice.delete(sid)

    # THEN the requests were logged (the capture works), and no credential appears anywhere
    text = "\n".join(logs.lines)
    assert text.count('"message":"request"') >= 9
    secrets = {
        "api key": alice.tenant.api_key,
        "wrong key": wrong_key,
        "webhook secret": alice.tenant.webhook_secret,
        "token signing secret": signing_secret,
        **{f"token {i}": t for i, t in enumerate(tokens)},
        **{f"token {i} signature": t.rsplit(".", 1)[1] for i, t in enumerate(tokens)},
    }
    leaked = [name for name, value in secrets.items() if value in text]
    assert leaked == []
