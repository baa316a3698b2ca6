"""The local WebSocket API with real sockets on 127.0.0.1: the real handler, API Gateway's events."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from agentflow.local.stack import LocalStack
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from .support import CallSession

TIMEOUT = 10


def _open(stack: LocalStack, token: str) -> ClientConnection:
    return connect(f"{stack.signaling_url}?token={token}", open_timeout=TIMEOUT, close_timeout=2)


def _send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    ws.send(json.dumps(frame))


def _next(ws: ClientConnection, wanted: str) -> dict[str, Any]:
    """The next frame of type ``wanted`` (frames of other types before it are skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
        if frame["type"] == wanted:
            return frame


def test_two_pages_join_relay_and_one_leaves(stack: LocalStack, call: CallSession) -> None:
    # GIVEN the host and the client connected to the local WebSocket API
    with _open(stack, call.host_token) as host, _open(stack, call.client_token) as client:
        # WHEN both join
        _send(host, {"action": "join"})
        joined_host = _next(host, "joined")
        _send(client, {"action": "join"})
        joined_client = _next(client, "joined")
        # THEN each knows its role, its politeness and whether the other is there
        assert (joined_host["role"], joined_host["polite"], joined_host["peer"]["connected"]) == (
            "host",
            False,
            False,
        )
        assert (joined_client["role"], joined_client["polite"]) == ("client", True)
        assert joined_client["peer"] == {"role": "host", "name": "Dr. Ada Host", "connected": True}
        assert _next(host, "peer-joined")["peer"] == {"role": "client", "name": "Bob Client"}
        # AND signals are relayed both ways, marked with their sender
        offer = {"description": {"type": "offer", "sdp": "v=0\r\n"}}
        _send(host, {"action": "signal", "data": offer})
        assert _next(client, "signal") == {"type": "signal", "from": "host", "data": offer}
        _send(client, {"action": "signal", "data": {"candidate": None}})
        assert _next(host, "signal") == {"type": "signal", "from": "client", "data": {"candidate": None}}
        # AND ping answers pong
        _send(client, {"action": "ping", "id": 1, "t0": 5})
        pong = _next(client, "pong")
        assert (pong["id"], pong["t0"]) == (1, 5) and pong["server_time_ms"] > 0
        # WHEN the client's page closes
        client.close()
        # THEN the host is told the client left with its connection
        assert _next(host, "peer-left") == {
            "type": "peer-left",
            "peer": {"role": "client"},
            "reason": "disconnected",
        }


def test_after_a_leave_the_server_hangs_up_and_the_peer_is_told_it_left(
    stack: LocalStack, call: CallSession
) -> None:
    with _open(stack, call.host_token) as host, _open(stack, call.client_token) as client:
        _send(host, {"action": "join"})
        _next(host, "joined")
        _send(client, {"action": "join"})
        _next(client, "joined")
        _next(host, "peer-joined")
        # WHEN the client leaves while the host goes on signaling to it
        _send(client, {"action": "leave"})
        _send(host, {"action": "signal", "data": {"candidate": None}})
        # THEN the host is told the client left (not that its connection dropped)
        assert _next(host, "peer-left")["reason"] == "left"
        # AND the server, having handled the leave, closed the client's connection
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                client.recv(timeout=TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def test_every_event_the_gateway_emits_parses_with_the_powertools_models(
    stack: LocalStack, call: CallSession
) -> None:
    # GIVEN a connect, each message route and a disconnect through the gateway
    assert stack.gateway is not None
    stack.gateway.events.clear()
    with _open(stack, call.host_token) as host:
        for frame in (
            {"action": "join"},
            {"action": "ping", "id": 1, "t0": 1},
            {"action": "x"},
        ):
            _send(host, frame)
        host.send("not json")
        _next(host, "error")  # unknown action
        _next(host, "error")  # not JSON
        _send(host, {"action": "leave"})  # last: the server hangs up after a leave
    with _open(stack, call.client_token):
        pass
    # WHEN the recorded events are parsed with Powertools' models
    events = list(stack.gateway.events)
    models = {
        "CONNECT": APIGatewayWebSocketConnectEventModel,
        "MESSAGE": APIGatewayWebSocketMessageEventModel,
        "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
    }
    routes = []
    for event in events:
        parsed = models[event["requestContext"]["eventType"]].model_validate(event)
        routes.append(parsed.request_context.route_key)
        assert parsed.request_context.api_id == stack.ref("WebSocketApi")
        assert parsed.request_context.stage == "local"
    # THEN they all parse, and cover every route the template declares
    assert {"$connect", "join", "ping", "leave", "$default", "$disconnect"} <= set(routes)
    connect_event = next(e for e in events if e["requestContext"]["routeKey"] == "$connect")
    assert connect_event["queryStringParameters"]["token"] == call.host_token


@pytest.mark.parametrize("token", ["", "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"])
def test_an_unauthenticated_connect_is_refused_during_the_handshake(stack: LocalStack, token: str) -> None:
    # WHEN a page connects without a valid join token
    with pytest.raises(InvalidStatus) as refused:
        _open(stack, token)
    # THEN the upgrade is refused with 401, before any message can flow
    assert refused.value.response.status_code == 401


def test_a_message_over_128_kb_closes_the_connection_with_1009(stack: LocalStack, call: CallSession) -> None:
    with _open(stack, call.host_token) as host:
        # WHEN a page sends a message over API Gateway's 128 KB limit
        host.send(json.dumps({"action": "signal", "data": {"x": "a" * (128 * 1024)}}))
        # THEN the gateway closes the connection with 1009 (message too big)
        with pytest.raises(ConnectionClosed):
            host.recv(timeout=TIMEOUT)
        assert host.close_code == 1009


def test_end_session_tells_both_pages(stack: LocalStack, call: CallSession, http: httpx.Client) -> None:
    with _open(stack, call.host_token) as host, _open(stack, call.client_token) as client:
        _send(host, {"action": "join"})
        _next(host, "joined")
        _send(client, {"action": "join"})
        _next(client, "joined")
        # WHEN the session is ended through the API
        response = http.post(
            f"/v1/sessions/{call.session_id}/end", headers={"Authorization": f"Bearer {call.tenant.api_key}"}
        )
        assert response.status_code == 200, response.text
        # THEN both pages get session-ended and their connections are closed
        for ws in (host, client):
            assert _next(ws, "session-ended") == {"type": "session-ended"}
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=TIMEOUT)
    # AND a new connection for the ended session is refused
    with pytest.raises(InvalidStatus) as refused:
        _open(stack, call.host_token)
    assert refused.value.response.status_code == 403
