"""Tenant isolation and join tokens: another tenant's ids, or another session's token, find nothing."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from agentflow.aws.clients import client
from agentflow.services import join_tokens
from agentflow.settings import get_settings

from .support import UNAUTHORIZED, Caller, bearer, token_of, unknown_session_id


def _stored(ddb: Any, caller: Caller, sid: str) -> dict[str, Any]:
    item: dict[str, Any] = ddb.get_item(
        Key={"pk": f"TENANT#{caller.tenant.tenant_id}", "sk": f"SESSION#{sid}"}, ConsistentRead=True
    )["Item"]
    return item


def test_another_tenants_session_behaves_exactly_like_a_missing_one(
    alice: Caller, bob: Caller, ddb: Any
) -> None:
    # GIVEN alice's session, and an id nobody has
    sid = alice.create_ok()["session_id"]
    missing = unknown_session_id()
    before = _stored(ddb, alice, sid)

    for call in (bob.get, bob.end, bob.delete):
        # WHEN bob gets, ends or deletes alice's session, and the missing one
        theirs, nobodys = call(sid), call(missing)
        # THEN both are 404 with the same body (up to the id itself) and the same headers
        assert theirs.status_code == nobodys.status_code == 404
        assert theirs.json() == {"detail": f"Session {sid} not found"}
        assert nobodys.json() == {"detail": f"Session {missing} not found"}
        assert set(theirs.headers) == set(nobodys.headers)

    # AND alice's session is untouched
    assert _stored(ddb, alice, sid) == before
    assert alice.get(sid).json()["status"] == "scheduled"


def test_join_token_reads_its_own_session_only(alice: Caller, bob: Caller) -> None:
    # GIVEN alice's sessions A and B, and bob's session C
    a = alice.create_ok()
    b = alice.create_ok()["session_id"]
    c = bob.create_ok()["session_id"]
    for role in ("host", "client"):
        token = bearer(token_of(a["widget_urls"][role]))
        # WHEN A's token reads A, B and C
        own = alice.http.get(f"/v1/sessions/{a['session_id']}", headers=token)
        other = alice.http.get(f"/v1/sessions/{b}", headers=token)
        foreign = alice.http.get(f"/v1/sessions/{c}", headers=token)
        # THEN only A is visible; B and C look missing
        assert own.status_code == 200
        assert own.json()["session_id"] == a["session_id"]
        assert other.status_code == foreign.status_code == 404
        assert other.json() == {"detail": f"Session {b} not found"}
        assert foreign.json() == {"detail": f"Session {c} not found"}


def test_join_token_of_session_a_cannot_upload_to_session_b(alice: Caller) -> None:
    # GIVEN sessions A and B of one tenant
    a, b = alice.create_ok(), alice.create_ok()
    host_a = bearer(token_of(a["widget_urls"]["host"]))
    body = {"filename": "call.webm", "content_type": "video/webm"}
    # WHEN A's host token asks for an upload grant on B
    response = alice.http.post(f"/v1/sessions/{b['session_id']}/recordings", json=body, headers=host_a)
    # THEN B looks missing, and B has no recording
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session {b['session_id']} not found"}
    assert alice.get(b["session_id"]).json()["recordings"] == []
    # AND on its own session the same token may upload
    own = alice.http.post(f"/v1/sessions/{a['session_id']}/recordings", json=body, headers=host_a)
    assert own.status_code == 201, own.text


def test_expired_join_token_is_401(alice: Caller) -> None:
    # GIVEN a genuinely signed token for a real session that expired a second ago
    sid = alice.create_ok()["session_id"]
    token = join_tokens.issue(
        secrets=client("secretsmanager"),
        secret_id=get_settings().join_token_secret_arn,
        session_id=sid,
        tenant_id=alice.tenant.tenant_id,
        role="host",
        ttl_seconds=1,
    )
    assert alice.http.get(f"/v1/sessions/{sid}", headers=bearer(token)).status_code == 200
    time.sleep(2.1)
    # WHEN it is used
    response = alice.http.get(f"/v1/sessions/{sid}", headers=bearer(token))
    # THEN 401
    assert response.status_code == 401
    assert response.json() == {"detail": "Join token expired"}
    assert response.headers["www-authenticate"] == "Bearer"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_or_forged_join_tokens_are_401(alice: Caller, bob: Caller) -> None:
    # GIVEN alice's host token, and bob's session
    created = alice.create_ok()
    token = token_of(created["widget_urls"]["client"])
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    bobs = bob.create_ok()["session_id"]
    secret = "not-the-real-secret-but-long-enough-for-hs256"

    forged = {
        # the client promotes itself to host, signature kept
        "role-swap": f"{header}.{_b64({**claims, 'role': 'host'})}.{signature}",
        # the token retargeted at bob's session and tenant, signature kept
        "retarget": f"{header}.{_b64({**claims, 'session_id': bobs, 'tenant_id': bob.tenant.tenant_id})}"
        f".{signature}",
        "bad-signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "no-signature": f"{header}.{payload}.",
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "other-secret": jwt.encode(claims, secret, algorithm="HS256"),
        "wrong-audience": jwt.encode({**claims, "aud": "someone-else"}, secret, algorithm="HS256"),
    }
    for name, bad in forged.items():
        # WHEN each is presented for its target session
        target = bobs if name == "retarget" else created["session_id"]
        response = alice.http.get(f"/v1/sessions/{target}", headers=bearer(bad))
        # THEN 401 with the seed's body
        assert response.status_code == 401, (name, response.text)
        assert response.json() == UNAUTHORIZED, name


def test_client_token_cannot_take_the_hosts_upload_action(alice: Caller) -> None:
    # GIVEN a session's client token
    created = alice.create_ok()
    client_token = bearer(token_of(created["widget_urls"]["client"]))
    # WHEN the client asks for an upload grant (a host action)
    response = alice.http.post(
        f"/v1/sessions/{created['session_id']}/recordings",
        json={"filename": "call.webm", "content_type": "video/webm"},
        headers=client_token,
    )
    # THEN it is forbidden (the token is valid, the role is not)
    assert response.status_code == 403
    assert alice.get(created["session_id"]).json()["recordings"] == []


def test_join_token_of_a_deleted_session_finds_nothing(alice: Caller) -> None:
    created = alice.create_ok()
    token = bearer(token_of(created["widget_urls"]["host"]))
    assert alice.delete(created["session_id"]).status_code == 200
    response = alice.http.get(f"/v1/sessions/{created['session_id']}", headers=token)
    assert response.status_code == 404
