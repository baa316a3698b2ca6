"""Isolation and auth: every authenticated route × every wrong credential → 401, 403 or 404, never data.

Alice's data is real: a session whose recording went through the whole pipeline (summary,
signature, webhook deliveries), a second session, and a workflow. Bob is another tenant. The
credentials: none, Bob's key, Alice's revoked key, an expired join token of Alice's session, the
host token of Alice's other session, and the client token of the session (on host-only routes).
Every route of the OpenAPI spec that declares a security scheme is covered (a test checks that).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentflow.api.app import create_app
from agentflow.aws import records
from agentflow.aws.clients import client, table
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.services.tenants import create_tenant_service
from agentflow.settings import get_settings
from boto3.dynamodb.conditions import Key

from .support import Receiver, wait_drained, wait_for

pytestmark = pytest.mark.slow

WORKFLOW = {
    "name": "Auth matrix",
    "version": 1,
    "start": "prepare",
    "nodes": [{"id": n, "type": n} for n in ("prepare", "extract", "merge", "compose")],
    "edges": [
        {"source": "prepare", "target": "extract"},
        {"source": "extract", "target": "merge"},
        {"source": "merge", "target": "compose"},
        {"source": "compose", "target": "end"},
    ],
}


@dataclass(frozen=True)
class Route:
    """One operation: who may call it and what it acts on."""

    method: str
    path: str  # with {placeholders}
    tokens: bool = False  # a join token of the session may call it
    host_only: bool = False
    own_scope: bool = False  # acts on the caller's own tenant (lists, creates): no foreign id in it
    token_only: bool = False  # only a participant's join token (the call's own routes): keys get 403
    body: dict[str, Any] | None = None
    params: dict[str, str] | None = None


ROUTES = [
    Route("GET", "/v1/sessions", own_scope=True),
    Route("POST", "/v1/sessions", own_scope=True, body={"host": {"name": "A"}, "client": {"name": "B"}}),
    Route("GET", "/v1/sessions/{session_id}", tokens=True),
    Route("POST", "/v1/sessions/{session_id}/end", tokens=True, host_only=True),
    Route("DELETE", "/v1/sessions/{session_id}"),
    Route(
        "POST",
        "/v1/sessions/{session_id}/recordings",
        tokens=True,
        host_only=True,
        body={"filename": "call.webm", "content_type": "video/webm"},
    ),
    Route("GET", "/v1/sessions/{session_id}/summary", tokens=True),
    Route("GET", "/v1/sessions/{session_id}/transcript", tokens=True, params={"format": "json"}),
    Route("GET", "/v1/sessions/{session_id}/ice-servers", tokens=True, token_only=True),
    Route("GET", "/v1/sessions/{session_id}/tracks", tokens=True),
    Route(
        "POST",
        "/v1/sessions/{session_id}/tracks",
        tokens=True,
        token_only=True,
        body={
            "kind": "audio",
            "content_type": "audio/webm;codecs=opus",
            "started_at_server_ms": 0,
            "clock_error_ms": 5,
        },
    ),
    # The host's track: the client's token is another participant's, so it gets 403 like host-only routes.
    Route(
        "GET",
        "/v1/sessions/{session_id}/tracks/{track_id}/parts",
        tokens=True,
        host_only=True,
    ),
    Route(
        "POST",
        "/v1/sessions/{session_id}/tracks/{track_id}/parts",
        tokens=True,
        host_only=True,
        token_only=True,
        body={"parts": [{"part_number": 1, "size_bytes": 1000}]},
    ),
    Route(
        "POST",
        "/v1/sessions/{session_id}/tracks/{track_id}/complete",
        tokens=True,
        host_only=True,
        token_only=True,
        body={"part_count": 1},
    ),
    Route("GET", "/v1/recordings/{recording_id}", tokens=True),
    Route("GET", "/v1/webhook-deliveries", params={"session_id": "{session_id}"}),
    Route("GET", "/v1/webhook-deliveries/{delivery_id}"),
    Route("POST", "/v1/webhook-deliveries/{delivery_id}/redeliver"),
    Route("POST", "/v1/webhook-secret/rotate", own_scope=True),
    Route("GET", "/v1/workflows", own_scope=True),
    Route("POST", "/v1/workflows", own_scope=True, body=WORKFLOW),
    Route("GET", "/v1/workflows/{workflow_id}"),
    Route("DELETE", "/v1/workflows/{workflow_id}"),
]


@dataclass
class World:
    """Alice's ids and secrets, Bob's key, and the HTTP client."""

    http: httpx.Client
    ids: dict[str, str]  # placeholder -> Alice's id
    alice_key: str
    credentials: dict[str, str]  # name -> bearer value
    stack: LocalStack


def _token_of(widget_url: str) -> str:
    return httpx.URL(widget_url).params["token"]


@pytest.fixture(scope="module")
def world(clips: list[Path]) -> Iterator[World]:
    """Alice's completed session (real pipeline on a short clip) and every wrong credential."""
    receiver = Receiver()
    with LocalStack() as stack, httpx.Client(base_url=stack.api_url, timeout=60) as http:
        tenants = create_tenant_service(table(stack.ref("Table")))
        alice, bob = tenants.create_tenant("alice"), tenants.create_tenant("bob")
        auth = {"Authorization": f"Bearer {alice.api_key}"}
        created = http.post(
            "/v1/sessions",
            json={"host": {"name": "Ana"}, "client": {"name": "Ben"}, "webhook_url": receiver.url},
            headers=auth,
        ).json()
        sid = created["session_id"]
        grant = http.post(
            f"/v1/sessions/{sid}/recordings",
            json={"filename": "a.wav", "content_type": "audio/wav"},
            headers=auth,
        ).json()
        httpx.post(
            grant["upload"]["url"],
            data=grant["upload"]["fields"],
            files={"file": ("a.wav", clips[0].read_bytes(), "audio/wav")},
            timeout=60,
        ).raise_for_status()
        rid = grant["recording_id"]
        wait_for(
            lambda: http.get(f"/v1/recordings/{rid}", headers=auth).json()["status"] == "COMPLETED",
            timeout=600,
            interval=0.5,
            what="Alice's recording COMPLETED",
        )
        wait_for(lambda: len(receiver.bodies) >= 3, timeout=60, what="Alice's webhooks delivered")
        wait_drained(stack)
        deliveries = http.get("/v1/webhook-deliveries", params={"session_id": sid}, headers=auth).json()
        other = http.post("/v1/sessions", json={"host": {"name": "C"}, "client": {"name": "D"}}, headers=auth)
        workflow = http.post("/v1/workflows", json=WORKFLOW, headers=auth)
        assert workflow.status_code == 201, workflow.text
        revoked_id, revoked_key = tenants.issue_key(alice.tenant_id, actor="test")
        tenants.revoke_key(tenant_id=alice.tenant_id, key_id=revoked_id)
        expired = join_tokens.issue(
            secrets=client("secretsmanager"),
            secret_id=get_settings().join_token_secret_arn,
            session_id=sid,
            tenant_id=alice.tenant_id,
            role="host",
            ttl_seconds=-5,
        )
        signed = http.get(f"/v1/sessions/{sid}/summary", headers=auth).json()
        host_token = _token_of(created["widget_urls"]["host"])
        track = http.post(
            f"/v1/sessions/{sid}/tracks",
            json={
                "kind": "audio",
                "content_type": "audio/webm;codecs=opus",
                "started_at_server_ms": int(time.time() * 1000),
                "clock_error_ms": 5,
            },
            headers={"Authorization": f"Bearer {host_token}"},
        )
        assert track.status_code == 201, track.text
        ids = {
            "session_id": sid,
            "recording_id": rid,
            "delivery_id": deliveries["items"][0]["delivery_id"],
            "workflow_id": workflow.json()["workflow_id"],
            "tenant_id": alice.tenant_id,
            "summary_id": signed["summary_id"],
            "signature_id": signed["signature"]["signature_id"],
            "other_session_id": other.json()["session_id"],
            "track_id": track.json()["track_id"],
        }
        yield World(
            http=http,
            ids=ids,
            alice_key=alice.api_key,
            credentials={
                "alice host token": host_token,
                "no key": "",
                "bob's key": bob.api_key,
                "revoked key": revoked_key,
                "expired join token": expired,
                "other session's token": _token_of(other.json()["widget_urls"]["host"]),
                "client token": _token_of(created["widget_urls"]["client"]),
            },
            stack=stack,
        )
    receiver.close()


def _call(world: World, route: Route, credential: str) -> httpx.Response:
    path = route.path.format(**world.ids)
    params = {k: v.format(**world.ids) for k, v in (route.params or {}).items()}
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return world.http.request(route.method, path, json=route.body, params=params, headers=headers)


def expected_status(route: Route, credential: str) -> int | None:
    """The status a wrong credential must get (``None``: 2xx on the caller's own tenant)."""
    if credential in ("no key", "revoked key", "expired join token"):
        return 401
    if credential == "bob's key":
        if route.token_only:
            return 403  # a key of any tenant: these routes are a participant's, whose session it is
        return None if route.own_scope else 404
    # join tokens: API-key routes refuse them outright; session routes see only their own session
    if not route.tokens:
        return 401
    if credential == "other session's token":
        return 404
    return 403 if route.host_only else None  # the client token, on its own session


def _snapshot(world: World) -> str:
    """Alice's items as stored (so that a refused call provably changed nothing)."""
    items = table(world.stack.ref("Table")).query(
        KeyConditionExpression=Key("pk").eq(records.tenant_pk(world.ids["tenant_id"])), ConsistentRead=True
    )["Items"]
    return json.dumps(sorted(items, key=lambda i: str(i["sk"])), default=str, sort_keys=True)


def test_every_secured_route_of_the_spec_is_in_the_matrix() -> None:
    spec = create_app().openapi()
    secured = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    }
    assert secured == {(r.method, r.path) for r in ROUTES}


@pytest.mark.parametrize(
    "credential",
    ["no key", "bob's key", "revoked key", "expired join token", "other session's token", "client token"],
)
def test_wrong_credentials_get_401_403_or_404_and_never_alices_data(world: World, credential: str) -> None:
    before = _snapshot(world)
    for route in ROUTES:
        if credential == "client token" and not route.host_only and route.tokens:
            continue  # the client may read its own session: covered by the positive control
        # WHEN the route is called with the wrong credential
        response = _call(world, route, world.credentials[credential])
        expected = expected_status(route, credential)
        where = (credential, route.method, route.path, response.status_code, response.text[:300])
        if expected is None:
            # THEN (Bob on his own tenant) it works, and shows nothing of Alice's
            assert response.status_code in (200, 201), where
        else:
            # THEN the expected refusal, with an error body only
            assert response.status_code == expected, where
            assert set(response.json()) == {"detail"} and isinstance(response.json()["detail"], str), where
            if expected == 401:
                assert response.headers["www-authenticate"] == "Bearer", where
        asked = str(response.request.url)
        leaked = [name for name, value in world.ids.items() if value in response.text and value not in asked]
        assert leaked == [], where
        assert world.alice_key not in response.text
    # AND none of Alice's items changed (Bob's own-scope calls touch only Bob's tenant)
    assert _snapshot(world) == before


def test_positive_control_alices_key_and_host_token_read_her_data(world: World) -> None:
    # The matrix is not vacuous: the right credentials do read the data the wrong ones may not.
    readable = [r for r in ROUTES if r.method == "GET"]
    for route in (r for r in readable if not r.token_only):
        response = _call(world, route, world.alice_key)
        assert response.status_code == 200, (route.path, response.text[:300])
    for route in (r for r in readable if r.tokens):
        for token in ("alice host token", "client token"):
            if token == "client token" and route.host_only:
                continue  # the host's own track: refused to the client, as the matrix checks
            response = _call(world, route, world.credentials[token])
            assert response.status_code == 200, (token, route.path, response.text[:300])
            # ICE servers are the participant's config and the transcript is the utterances alone;
            # every other route names the session or the track it showed.
            if route.path.endswith("/ice-servers"):
                assert "ice_servers" in response.json()
            elif route.path.endswith("/tracks"):
                # a participant lists only their own tracks: the host's one, and none for the client
                mine = [t["track_id"] for t in response.json()["items"]]
                assert mine == ([world.ids["track_id"]] if token == "alice host token" else [])
            elif route.path.endswith("/transcript"):
                assert response.json() and {"speaker", "text"} <= set(response.json()[0])
            else:
                assert world.ids["session_id"] in response.text or world.ids["track_id"] in response.text
    summary = _call(world, Route("GET", "/v1/sessions/{session_id}/summary"), world.alice_key).json()
    assert summary["signature"]["signature_id"] == world.ids["signature_id"]
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", summary["signature"]["jws"])
