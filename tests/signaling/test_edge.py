"""The edge's hand-checked event readers against the sample events and Powertools' models.

The edge reads events without pydantic (its cold import, benchmarks/signaling_import.py); Powertools'
models stay the reference shape here: every sample event parses with the model of its kind, the
edge's reader of that kind reads the same values from it, the other two readers refuse it, and a
malformed event is refused with a reason (400 from ``handle``), before the service is touched.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from agentflow.signaling import edge
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)

from .support import EVENTS, sample_event

SAMPLES = sorted(path.name for path in EVENTS.glob("*.json"))
READERS = {"CONNECT": edge.read_connect, "DISCONNECT": edge.read_disconnect, "MESSAGE": edge.read_message}
MODELS = {
    "CONNECT": APIGatewayWebSocketConnectEventModel,
    "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
    "MESSAGE": APIGatewayWebSocketMessageEventModel,
}


def _sample(name: str) -> dict[str, Any]:
    return sample_event(name, CONNECTION_ID="LLOXxdOBrPEAbBw=", TOKEN="tok.en.sig", SESSION_ID="ses_1")


class _Untouchable:
    """A service that fails the test if the edge calls it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the service was called ({name}) for a malformed event")


def test_the_samples_cover_every_route_the_handler_takes() -> None:
    routes = {_sample(name)["requestContext"]["routeKey"] for name in SAMPLES}
    assert routes == {"$connect", "$disconnect", "$default", "join", "signal", "ping", "leave"}


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_is_read_by_its_reader_as_powertools_parses_it_and_refused_by_the_others(
    name: str,
) -> None:
    # GIVEN a sample event and the Powertools model of its kind
    event = _sample(name)
    kind = event["requestContext"]["eventType"]
    model: Any = MODELS[kind].model_validate(event)
    ctx = model.request_context
    # WHEN the edge's reader of that kind reads it
    read: Any = READERS[kind](event)
    # THEN it reads what the model parsed
    assert read["connection_id"] == ctx.connection_id == "LLOXxdOBrPEAbBw="
    if kind == "CONNECT":
        assert (read["token"], read["session_hint"]) == ("tok.en.sig", "ses_1")
    elif kind == "DISCONNECT":
        assert isinstance(model, APIGatewayWebSocketDisconnectEventModel)
        assert (read["status_code"], read["reason"]) == (
            model.request_context.disconnect_status_code,
            model.request_context.disconnect_reason,
        )
    else:
        assert isinstance(model, APIGatewayWebSocketMessageEventModel)
        assert (read["route"], read["body"]) == (ctx.route_key, model.body)
    # AND the readers of the other kinds refuse it
    for other, reader in READERS.items():
        if other != kind:
            with pytest.raises(edge.MalformedEvent, match="eventType"):
                reader(event)


def _without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    broken = copy.deepcopy(event)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return broken


def _with(event: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    broken = copy.deepcopy(event)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return broken


MALFORMED: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "connect without connectionId": (
        "connect.json",
        lambda e: _without(e, "requestContext", "connectionId"),
        "connectionId is missing",
    ),
    "connect with an empty connectionId": (
        "connect.json",
        lambda e: _with(e, "", "requestContext", "connectionId"),
        "connectionId is missing",
    ),
    "connect with a numeric token": (
        "connect.json",
        lambda e: _with(e, 7, "queryStringParameters", "token"),
        "token is not a str",
    ),
    "message without routeKey": (
        "signal.json",
        lambda e: _without(e, "requestContext", "routeKey"),
        "routeKey is missing",
    ),
    "message without connectionId": (
        "join.json",
        lambda e: _without(e, "requestContext", "connectionId"),
        "connectionId is missing",
    ),
    "message without requestContext": (
        "ping.json",
        lambda e: _without(e, "requestContext"),
        "requestContext",
    ),
    "message with a list for requestContext": (
        "ping.json",
        lambda e: _with(e, [], "requestContext"),
        "requestContext",
    ),
    "message without isBase64Encoded": (
        "leave.json",
        lambda e: _without(e, "isBase64Encoded"),
        "isBase64Encoded is missing",
    ),
    "message with a non-text body": (
        "signal.json",
        lambda e: _with(e, {"a": 1}, "body"),
        "body is not a str",
    ),
    "message event on the $connect route": (
        "ping.json",
        lambda e: _with(e, "$connect", "requestContext", "routeKey"),
        "not a message route",
    ),
    "disconnect without its close code": (
        "disconnect.json",
        lambda e: _without(e, "requestContext", "disconnectStatusCode"),
        "disconnectStatusCode is missing",
    ),
    "disconnect with a boolean close code": (
        "disconnect.json",
        lambda e: _with(e, True, "requestContext", "disconnectStatusCode"),
        "disconnectStatusCode is not a int",
    ),
}


# Where the edge is stricter than Powertools' models: they accept an empty connection id, any route
# on a message, a boolean close code (pydantic's lax mode makes it 1), and do not read the query string.
STRICTER_THAN_POWERTOOLS = {
    "connect with an empty connectionId",
    "connect with a numeric token",
    "message event on the $connect route",
    "disconnect with a boolean close code",
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_event_is_refused_with_a_reason_and_a_400_before_the_service(case: str) -> None:
    # GIVEN a sample event with a field missing or of the wrong type
    name, breaks, reason = MALFORMED[case]
    event = breaks(_sample(name))
    # THEN Powertools' model refuses it too (the readers are no looser than the checked shape)
    kind = _sample(name)["requestContext"]["eventType"]
    if case not in STRICTER_THAN_POWERTOOLS:
        with pytest.raises(ValueError):
            MODELS[kind].model_validate(event)
    # AND the edge's reader raises MalformedEvent (not KeyError) with the reason
    route = _sample(name)["requestContext"]["routeKey"]
    reader = READERS[kind]
    with pytest.raises(edge.MalformedEvent, match=reason):
        reader(event)
    # AND handle answers 400 with the reason without calling the service
    response = edge.handle(event, _Untouchable())  # type: ignore[arg-type]
    assert response["statusCode"] == 400, (route, response)
    assert response["body"].startswith("malformed event: ")


def test_a_binary_frame_has_no_text_body() -> None:
    event = _with(_sample("signal.json"), True, "isBase64Encoded")
    assert edge.read_message(event)["body"] is None


def test_a_connect_without_a_query_string_reads_no_token() -> None:
    event = _without(_sample("connect.json"), "queryStringParameters")
    assert edge.read_connect(event) == {
        "connection_id": "LLOXxdOBrPEAbBw=",
        "token": None,
        "session_hint": None,
    }


def test_an_event_that_is_not_an_object_is_400() -> None:
    response = edge.handle([], _Untouchable())  # type: ignore[arg-type]
    assert response["statusCode"] == 400
