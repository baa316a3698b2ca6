"""The signaling handler with the sample events (events/signaling) over the local stack's table (moto).

The ``@connections`` API is a recording fake here (which connections are open is the test's to
say); test_gateway.py runs the same handler behind real sockets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from agentflow.aws import keys, records
from agentflow.aws.clients import client
from agentflow.local.runner import LambdaContext, load_handler
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.settings import get_settings
from agentflow.signaling import edge
from agentflow.signaling.protocol import MAX_SIGNAL_BYTES
from agentflow.signaling.service import SignalingService, create_signaling_service

from .support import ROOT, CallSession, FakeConnections, create_session, sample_event


@pytest.fixture
def fake() -> FakeConnections:
    return FakeConnections()


@pytest.fixture
def svc(stack: LocalStack, ddb: Any, fake: FakeConnections) -> SignalingService:
    settings = get_settings()
    return create_signaling_service(
        ddb,
        connections=fake.api(),
        sqs=client("sqs"),
        secrets=client("secretsmanager"),
        token_secret_id=settings.join_token_secret_arn,
        webhooks_queue_url=settings.webhooks_queue_url,
    )


class Page:
    """One browser tab: a connection id, its events through the edge, its frames from the fake."""

    def __init__(self, svc: SignalingService, fake: FakeConnections, name: str) -> None:
        self.svc, self.fake = svc, fake
        self.id = f"{name}{time.time_ns() % 10**9}="

    def connect(self, token: str | None, session_id: str | None = None) -> dict[str, Any]:
        event = sample_event(
            "connect.json", CONNECTION_ID=self.id, TOKEN=token or "", SESSION_ID=session_id or ""
        )
        if token is None:
            del event["queryStringParameters"], event["multiValueQueryStringParameters"]
        if session_id is None and token is not None:
            del event["queryStringParameters"]["session_id"]
        response = edge.handle(event, self.svc)
        if response["statusCode"] == 200:
            self.fake.open.add(self.id)
        return response

    def send(self, name: str, **body: Any) -> None:
        event = sample_event(name, CONNECTION_ID=self.id)
        if "raw" in body:
            event["body"] = body["raw"]
        assert edge.handle(event, self.svc) == {"statusCode": 200}

    def close(self) -> None:
        self.fake.open.discard(self.id)
        edge.handle(sample_event("disconnect.json", CONNECTION_ID=self.id), self.svc)

    @property
    def types(self) -> list[str]:
        return self.fake.types(self.id)

    def last(self) -> dict[str, Any]:
        return self.fake.frames(self.id)[-1]


@pytest.fixture
def pages(svc: SignalingService, fake: FakeConnections) -> Iterator[Any]:
    yield lambda name: Page(svc, fake, name)


def _events(ddb: Any, call: CallSession, event_type: str) -> list[dict[str, Any]]:
    items, _ = records.query_live(ddb, keys.tenant_pk(call.tenant.tenant_id), sk_prefix=keys.EVENT, limit=100)
    return [i for i in items if i["type"] == event_type and i["session_id"] == call.session_id]


# ---------------------------------------------------------------- $connect
def test_connect_with_a_good_token_records_the_connection(pages: Any, call: CallSession, ddb: Any) -> None:
    page = pages("h")
    assert page.connect(call.host_token, call.session_id)["statusCode"] == 200
    item = records.get_live(ddb, keys.connection_pk(page.id), keys.CONNECTION_SK)
    assert item is not None
    assert (item["session_id"], item["role"], item["status"]) == (call.session_id, "host", "CONNECTED")
    assert item["expires_at_epoch"] > time.time() + 2 * 3600  # outlives API Gateway's 2-hour limit


def test_connect_without_a_token_or_with_a_forged_or_expired_one_is_401(
    pages: Any, call: CallSession
) -> None:
    settings = get_settings()
    expired = join_tokens.issue(
        secrets=client("secretsmanager"),
        secret_id=settings.join_token_secret_arn,
        session_id=call.session_id,
        tenant_id=call.tenant.tenant_id,
        role="host",
        ttl_seconds=-1,
    )
    head, payload, signature = call.host_token.split(".")
    forged = f"{head}.{payload}.{'A' * len(signature)}"
    assert pages("a").connect(None)["statusCode"] == 401
    assert pages("b").connect(forged)["statusCode"] == 401
    refused = pages("c").connect(expired)
    assert refused == {"statusCode": 401, "body": "Join token expired"}


def test_connect_with_another_sessions_token_is_403(pages: Any, call: CallSession, http: Any) -> None:
    other = create_session(http, call.tenant)
    assert pages("x").connect(other.client_token, call.session_id)["statusCode"] == 403
    assert pages("y").connect(other.client_token, other.session_id)["statusCode"] == 200


def test_connect_to_an_ended_or_deleted_session_or_a_revoked_tenant_is_403(
    pages: Any, call: CallSession, http: Any, ddb: Any
) -> None:
    auth = {"Authorization": f"Bearer {call.tenant.api_key}"}
    ended, deleted = create_session(http, call.tenant), create_session(http, call.tenant)
    assert http.post(f"/v1/sessions/{ended.session_id}/end", headers=auth).status_code == 200
    assert http.delete(f"/v1/sessions/{deleted.session_id}", headers=auth).status_code == 200
    assert pages("e").connect(ended.host_token)["statusCode"] == 403
    assert pages("d").connect(deleted.host_token)["statusCode"] == 403
    # a tenant that is no longer active: its tokens stop working at once
    records.soft_delete(ddb, keys.tenant_pk(call.tenant.tenant_id), keys.TENANT_SK, actor="test")
    assert pages("r").connect(call.host_token)["statusCode"] == 403


# ---------------------------------------------------------------- seats
def test_join_both_sides_then_session_started_fires_once(
    pages: Any, call: CallSession, fake: FakeConnections, ddb: Any
) -> None:
    host, client = pages("h"), pages("c")
    host.connect(call.host_token)
    client.connect(call.client_token)
    host.send("join.json")
    assert host.last()["type"] == "joined" and host.last()["peer"]["connected"] is False
    assert _events(ddb, call, "session.started") == []
    client.send("join.json")
    assert client.last()["peer"] == {"role": "host", "name": "Dr. Ada Host", "connected": True}
    assert host.types[-1] == "peer-joined"
    assert len(_events(ddb, call, "session.started")) == 1
    assert len(_events(ddb, call, "participant.joined")) == 2
    # the client leaves: the host is told, and the server hangs the client's connection up
    client.send("leave.json")
    assert host.last() == {"type": "peer-left", "peer": {"role": "client"}, "reason": "left"}
    assert fake.closed == [client.id]
    # joining again (a new connection) does not start the session a second time
    again = pages("c")
    again.connect(call.client_token)
    again.send("join.json")
    assert host.types[-1] == "peer-joined"
    assert len(_events(ddb, call, "session.started")) == 1
    assert len(_events(ddb, call, "participant.left")) == 1


def test_a_second_tab_takes_the_seat_over_cleanly(
    pages: Any, call: CallSession, fake: FakeConnections, ddb: Any
) -> None:
    tab1, tab2, client = pages("t1"), pages("t2"), pages("c")
    for page, token in ((tab1, call.host_token), (tab2, call.host_token), (client, call.client_token)):
        page.connect(token)
    tab1.send("join.json")
    client.send("join.json")
    # WHEN a second tab of the host joins
    tab2.send("join.json")
    # THEN the first tab is told and closed, the client renegotiates with the second
    assert tab1.types[-1] == "replaced" and tab1.id in fake.closed
    assert tab2.last()["type"] == "joined" and tab2.last()["peer"]["connected"] is True
    assert client.types[-1] == "peer-joined"
    seat = ddb.get_item(
        Key={"pk": keys.tenant_pk(call.tenant.tenant_id), "sk": keys.seat(call.session_id, "host")}
    )
    assert seat["Item"]["connection_id"] == tab2.id
    old = ddb.get_item(Key={"pk": keys.connection_pk(tab1.id), "sk": keys.CONNECTION_SK})["Item"]
    assert (old["status"], old["deleted_by"]) == ("DELETED", f"signaling:replaced-by:{tab2.id}")
    # AND the first tab's late $disconnect neither frees the seat nor tells the client anything
    before = len(client.types)
    tab1.close()
    assert len(client.types) == before
    seat = ddb.get_item(
        Key={"pk": keys.tenant_pk(call.tenant.tenant_id), "sk": keys.seat(call.session_id, "host")}
    )
    assert seat["Item"]["connection_id"] == tab2.id and seat["Item"]["status"] == "OCCUPIED"
    # AND the replaced tab can no longer signal
    tab1.fake.open.add(tab1.id)
    tab1.send("signal.json")
    assert tab1.last()["code"] == "not_joined"


def test_a_third_party_never_reaches_the_call(pages: Any, call: CallSession, http: Any) -> None:
    host, client, stranger = pages("h"), pages("c"), pages("s")
    host.connect(call.host_token)
    client.connect(call.client_token)
    host.send("join.json")
    client.send("join.json")
    # a connection that never joined cannot signal
    stranger_of_same_session = pages("n")
    stranger_of_same_session.connect(call.client_token)
    stranger_of_same_session.send("signal.json")
    assert stranger_of_same_session.last() == {
        "type": "error",
        "code": "not_joined",
        "reason": 'send {"action": "join"} first',
    }
    # a participant of another session joins that session, never this one
    other = create_session(http, call.tenant)
    stranger.connect(other.host_token)
    stranger.send("join.json")
    stranger.send("signal.json")
    assert stranger.last()["code"] == "peer_absent"
    assert "signal" not in host.types and "signal" not in client.types
    # a connection the stack never saw
    ghost = pages("g")
    ghost.fake.open.add(ghost.id)
    ghost.send("join.json")
    assert ghost.last()["code"] == "not_joined"


def test_a_message_to_a_gone_connection_frees_its_seat(
    pages: Any, call: CallSession, fake: FakeConnections, ddb: Any
) -> None:
    host, client = pages("h"), pages("c")
    host.connect(call.host_token)
    client.connect(call.client_token)
    host.send("join.json")
    client.send("join.json")
    # WHEN the client's connection is gone without a $disconnect (PostToConnection answers 410)
    fake.open.discard(client.id)
    host.send("signal.json")
    # THEN its seat is freed and the host is told the client left
    seat = ddb.get_item(
        Key={"pk": keys.tenant_pk(call.tenant.tenant_id), "sk": keys.seat(call.session_id, "client")}
    )
    assert seat["Item"]["status"] == "FREE" and "connection_id" not in seat["Item"]
    assert host.last() == {"type": "peer-left", "peer": {"role": "client"}, "reason": "disconnected"}
    host.send("signal.json")
    assert host.last()["code"] == "peer_absent"


def test_disconnect_soft_deletes_the_connection_and_tells_the_peer(
    pages: Any, call: CallSession, ddb: Any
) -> None:
    host, client = pages("h"), pages("c")
    host.connect(call.host_token)
    client.connect(call.client_token)
    host.send("join.json")
    client.send("join.json")
    client.close()
    assert host.last() == {"type": "peer-left", "peer": {"role": "client"}, "reason": "disconnected"}
    item = ddb.get_item(Key={"pk": keys.connection_pk(client.id), "sk": keys.CONNECTION_SK})["Item"]
    assert (
        item["status"] == "DELETED" and item["deleted_at"] and item["deleted_by"].startswith("token:client:")
    )


# ---------------------------------------------------------------- frames
def test_bad_frames_get_an_error_and_never_reach_the_peer(pages: Any, call: CallSession) -> None:
    host, client = pages("h"), pages("c")
    host.connect(call.host_token)
    client.connect(call.client_token)
    host.send("join.json")
    client.send("join.json")
    before = list(client.types)
    host.send("signal.json", raw='{"action": "signal", "data": {"x": "' + "a" * MAX_SIGNAL_BYTES + '"}}')
    assert host.last()["code"] == "too_large"
    host.send("default.json", raw="{not json")
    assert host.last()["code"] == "bad_message"
    host.send("default.json", raw="[1, 2]")
    assert host.last()["code"] == "bad_message"
    host.send("default.json")
    assert host.last() == {"type": "error", "code": "unknown_action", "reason": "unknown action 'dance'"}
    host.send("signal.json", raw='{"action": "signal", "data": {"sdp": "no description key"}}')
    assert host.last()["code"] == "bad_message"
    assert client.types == before
    host.send("signal.json")
    assert client.last()["type"] == "signal"


def test_ping_answers_pong_with_the_server_clock(pages: Any, call: CallSession) -> None:
    page = pages("p")
    page.connect(call.host_token)
    before = time.time_ns() // 1_000_000
    page.send("ping.json")
    pong = page.last()
    assert (pong["type"], pong["id"], pong["t0"]) == ("pong", 7, 1796120131000)
    assert before <= pong["server_time_ms"] <= time.time_ns() // 1_000_000


def test_the_thin_handler_loads_as_lambda_does_and_refuses_a_missing_token(stack: LocalStack) -> None:
    handler = load_handler(ROOT / "functions" / "signaling" / "handler.py")
    event = sample_event("connect.json", CONNECTION_ID="LLOXxdOBrPEAbBw=", TOKEN="", SESSION_ID="")
    response = handler(event, LambdaContext(function_name="signaling", timeout_seconds=10))
    assert response["statusCode"] == 401
