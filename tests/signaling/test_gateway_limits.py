"""The local gateway's emulation of API Gateway's limits and of ``@connections``, with a stub handler."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from agentflow.local.gateway import (
    EventSource,
    GatewayLimits,
    WebSocketGateway,
    _Connection,
    new_api_id,
    websocket_apis,
)
from agentflow.local.template import load_template
from botocore.exceptions import ClientError
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


class Recorder:
    """A stand-in signaling function: remembers connection ids and disconnect codes."""

    def __init__(self) -> None:
        self.connected: list[str] = []
        self.disconnects: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        ctx = event["requestContext"]
        with self.lock:
            if ctx["eventType"] == "CONNECT":
                self.connected.append(ctx["connectionId"])
            elif ctx["eventType"] == "DISCONNECT":
                self.disconnects.append((ctx["disconnectStatusCode"], ctx["disconnectReason"]))
        return {"statusCode": 200}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _gateway(recorder: Recorder, limits: GatewayLimits) -> Iterator[WebSocketGateway]:
    (spec,) = websocket_apis(load_template())
    gateway = WebSocketGateway(
        spec, stage="test", api_id=new_api_id(), limits=limits, handlers={"signaling": recorder}
    )
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def short(recorder: Recorder) -> Iterator[WebSocketGateway]:
    yield from _gateway(recorder, GatewayLimits(idle_timeout_seconds=0.6, max_connection_seconds=60))


@pytest.fixture
def brief(recorder: Recorder) -> Iterator[WebSocketGateway]:
    yield from _gateway(recorder, GatewayLimits(idle_timeout_seconds=60, max_connection_seconds=1.0))


def _wait(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_template_routes_every_action_to_the_signaling_function() -> None:
    (spec,) = websocket_apis(load_template())
    assert spec.route_selection_expression == "$request.body.action"
    assert set(spec.routes) == {"$connect", "$disconnect", "$default", "join", "signal", "ping", "leave"}
    assert {fn.name for fn in spec.routes.values()} == {"signaling"}


def test_an_idle_connection_is_closed_and_a_busy_one_is_not(
    short: WebSocketGateway, recorder: Recorder
) -> None:
    with connect(short.url, open_timeout=5) as busy, connect(short.url, open_timeout=5) as idle:
        for _ in range(8):  # 1.6 s of traffic, well past the 0.6 s idle timeout
            busy.send(json.dumps({"action": "ping"}))
            time.sleep(0.2)
        with pytest.raises(ConnectionClosed):
            idle.recv(timeout=5)
        assert idle.close_code == 1001
        busy.send(json.dumps({"action": "ping"}))  # still open
    _wait(lambda: len(recorder.disconnects) == 2)
    assert (1001, "Idle timeout") in recorder.disconnects


def test_a_connection_is_closed_at_the_duration_limit(brief: WebSocketGateway, recorder: Recorder) -> None:
    with connect(brief.url, open_timeout=5) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            while True:
                ws.send(json.dumps({"action": "ping"}))
                time.sleep(0.1)
        assert ws.close_code == 1001 and 0.9 <= time.monotonic() - started < 5


def test_the_management_api_posts_gets_deletes_and_410s(short: WebSocketGateway, recorder: Recorder) -> None:
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=short.management_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with connect(short.url, open_timeout=5, user_agent_header="agentflow-test") as ws:
        _wait(lambda: bool(recorder.connected))
        connection_id = recorder.connected[-1]
        api.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"hello"}')
        assert json.loads(ws.recv(timeout=5)) == {"type": "hello"}
        info = api.get_connection(ConnectionId=connection_id)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "agentflow-test"}
        api.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with pytest.raises(ClientError) as gone:
        api.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


class _Closing:
    """A websocket whose client has just gone: starlette raises on the send."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send_text(self, data: str) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        WebSocketDisconnect(code=1006),
        WebSocketDisconnected('Cannot call "send" once a close message has been sent.'),
    ],
)
def test_a_post_that_races_the_clients_close_is_a_410_not_a_server_error(
    short: WebSocketGateway, error: Exception
) -> None:
    # GIVEN a connection whose client closes between the gateway's check and its send
    source = EventSource(
        "api", "test", "127.0.0.1", "c1", connected_at_ms=0, source_ip="127.0.0.1", user_agent=None
    )
    conn = _Connection(src=source, websocket=_Closing(error), last_active_ms=0)  # type: ignore[arg-type]
    # WHEN a frame is pushed to it THEN the push reports the connection gone (the post answers 410)
    assert asyncio.run(short._push(conn, b'{"type":"hello"}')) is False
    # AND every later post is a 410 at once
    assert conn.gone
