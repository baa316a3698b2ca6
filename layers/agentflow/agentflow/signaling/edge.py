"""The signaling function's edge: API Gateway WebSocket events in, one service call, a status out.

Events are read by three small hand-checked readers (``read_connect``, ``read_disconnect``,
``read_message``) into TypedDicts holding only what the service needs. An event without a
``requestContext`` object, a non-empty string ``routeKey``/``connectionId``, an ``eventType`` that
matches the route, or with a field of the wrong type is malformed: ``MalformedEvent``, answered 400
(on ``$connect`` that refuses the upgrade), never a ``KeyError``. A ``$connect`` answered with a
non-2xx status refuses the upgrade; message routes are one-way (no route response), so their
answers are pushed with ``PostToConnection`` and the returned status only tells API Gateway the
invocation succeeded.

Why not Powertools' pydantic event models here: importing them loads pydantic and builds the models
at cold start, which made the handler's import 1.67-1.90x ``import boto3`` (CPU); with these readers
it is 1.23-1.33x (median 1.25x, goal 1.3x; figures in docs/CALL.md, ``benchmarks/signaling_import.py``).
The models stay the reference shape in the tests: tests/signaling checks that every event the local
gateway emits parses with them, and that these readers accept exactly the sample events in
``events/signaling/`` and refuse malformed ones. Honest accounting: ``service()`` builds the settings
and boto3 clients lazily on the first event (as before this change), and ``agentflow.settings``
imports pydantic(-settings), so the first invocation still pays the pydantic import; what leaves the
cold start altogether is only building the event models. Init plus first event drops only once this
path reads its settings without pydantic-settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypedDict

from aws_lambda_powertools import Logger

from agentflow.signaling.service import SignalingService

logger = Logger(service="agentflow-signaling")


class MalformedEvent(ValueError):
    """An event that is not the API Gateway WebSocket event its route says it is."""


class ConnectEvent(TypedDict):
    """What ``$connect`` needs: the connection and the query string (the page's join token)."""

    connection_id: str
    token: str | None
    session_hint: str | None


class DisconnectEvent(TypedDict):
    """What ``$disconnect`` needs: the connection and why it closed (close code and reason)."""

    connection_id: str
    status_code: int
    reason: str


class MessageEvent(TypedDict):
    """What a message route needs: the connection, the route and the text body (None if binary)."""

    connection_id: str
    route: str
    body: str | None


_EVENT_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}


def _context(event: object, event_type: str) -> tuple[Mapping[str, Any], str]:
    """The ``requestContext`` of ``event`` and its connection id, checked against ``event_type``."""
    if not isinstance(event, Mapping):
        raise MalformedEvent("the event is not an object")
    ctx = event.get("requestContext")
    if not isinstance(ctx, Mapping):
        raise MalformedEvent("requestContext is missing or not an object")
    route = ctx.get("routeKey")
    if not isinstance(route, str) or not route:
        raise MalformedEvent("requestContext.routeKey is missing or not a string")
    if ctx.get("eventType") != event_type:
        raise MalformedEvent(f"requestContext.eventType is not {event_type} on route {route}")
    connection_id = ctx.get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise MalformedEvent("requestContext.connectionId is missing or not a string")
    return ctx, connection_id


def _checked(value: object, kind: type, name: str, *, optional: bool = False) -> Any:
    """``value`` if it is a ``kind`` (or None when ``optional``); else the event is malformed."""
    if value is None and optional:
        return None
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise MalformedEvent(f"{name} is missing" if value is None else f"{name} is not a {kind.__name__}")


def read_connect(event: object) -> ConnectEvent:
    """The ``$connect`` event's connection id and query string parameters ``token``/``session_id``."""
    _, connection_id = _context(event, "CONNECT")
    assert isinstance(event, Mapping)  # checked by _context
    query = _checked(event.get("queryStringParameters"), Mapping, "queryStringParameters", optional=True)
    token = _checked((query or {}).get("token"), str, "queryStringParameters.token", optional=True)
    hint = _checked((query or {}).get("session_id"), str, "queryStringParameters.session_id", optional=True)
    return {"connection_id": connection_id, "token": token, "session_hint": hint}


def read_disconnect(event: object) -> DisconnectEvent:
    """The ``$disconnect`` event's connection id, close code and reason."""
    ctx, connection_id = _context(event, "DISCONNECT")
    return {
        "connection_id": connection_id,
        "status_code": _checked(ctx.get("disconnectStatusCode"), int, "requestContext.disconnectStatusCode"),
        "reason": _checked(ctx.get("disconnectReason"), str, "requestContext.disconnectReason"),
    }


def read_message(event: object) -> MessageEvent:
    """A message event's connection id, route and body; a binary (base64) frame has no text body."""
    ctx, connection_id = _context(event, "MESSAGE")
    assert isinstance(event, Mapping)  # checked by _context
    if ctx["routeKey"] in _EVENT_TYPES:
        raise MalformedEvent(f"route {ctx['routeKey']} is not a message route")
    binary = _checked(event.get("isBase64Encoded"), bool, "isBase64Encoded")
    body = _checked(event.get("body"), str, "body", optional=True)
    # Binary frames arrive base64-encoded; the protocol is JSON text, so they are bad messages.
    return {"connection_id": connection_id, "route": ctx["routeKey"], "body": None if binary else body}


@lru_cache(maxsize=1)
def service() -> SignalingService:
    """The signaling service of this warm container (settings and clients read once)."""
    from agentflow.aws.clients import client, table
    from agentflow.settings import get_settings
    from agentflow.signaling.connections import create_connections, management_client
    from agentflow.signaling.service import create_signaling_service

    settings = get_settings()
    return create_signaling_service(
        table(settings.table_name),
        connections=create_connections(management_client(settings.signaling_management_url)),
        sqs=client("sqs"),
        secrets=client("secretsmanager"),
        token_secret_id=settings.join_token_secret_arn,
        webhooks_queue_url=settings.webhooks_queue_url,
        seat_ttl_seconds=settings.seat_ttl_seconds,
    )


def handle(event: dict[str, Any], signaling: SignalingService | None = None) -> dict[str, Any]:
    """Route one WebSocket event to the service; return the Lambda proxy response.

    A malformed event is answered 400 with the reason, before the service is built or called.

    Args:
        event: The API Gateway WebSocket event.
        signaling: The service to call (default: this container's).
    """
    ctx = event.get("requestContext") if isinstance(event, Mapping) else None
    route = ctx.get("routeKey") if isinstance(ctx, Mapping) else None
    try:
        if route == "$connect":
            connect = read_connect(event)
            result = (signaling or service()).connect(
                connect["connection_id"], token=connect["token"], session_hint=connect["session_hint"]
            )
            logger.info(
                "connect",
                connection_id=connect["connection_id"],
                status=result.status_code,
                reason=result.reason,
            )
            return {"statusCode": result.status_code, "body": result.reason}
        if route == "$disconnect":
            gone = read_disconnect(event)
            (signaling or service()).disconnect(
                gone["connection_id"], status_code=gone["status_code"], reason=gone["reason"]
            )
            return {"statusCode": 200}
        message = read_message(event)
    except MalformedEvent as malformed:
        logger.warning("malformed event", route=route, reason=str(malformed))
        return {"statusCode": 400, "body": f"malformed event: {malformed}"}
    (signaling or service()).message(message["connection_id"], route=message["route"], body=message["body"])
    return {"statusCode": 200}
