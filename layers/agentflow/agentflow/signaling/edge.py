"""The signaling function's edge: API Gateway WebSocket events in, one service call, a status out.

Events are parsed with Powertools' models (the shapes API Gateway sends; the local gateway's events
are tested against the same models). A ``$connect`` answered with a non-2xx status refuses the
upgrade; message routes are one-way (no route response), so their answers are pushed with
``PostToConnection`` and the returned status only tells API Gateway the invocation succeeded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser.models.apigw_websocket import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from pydantic import Field

from agentflow.signaling.service import SignalingService

logger = Logger(service="agentflow-signaling")


class ConnectEvent(APIGatewayWebSocketConnectEventModel):
    """Powertools' connect event plus the query string, where the page puts its join token."""

    query_string_parameters: dict[str, str] | None = Field(default=None, alias="queryStringParameters")


@lru_cache(maxsize=1)
def service() -> SignalingService:
    """The signaling service of this warm container (settings and clients read once)."""
    from agentflow.aws.clients import table
    from agentflow.settings import get_settings
    from agentflow.signaling.connections import create_connections, management_client
    from agentflow.signaling.service import create_signaling_service

    settings = get_settings()
    return create_signaling_service(
        table(settings.table_name),
        connections=create_connections(management_client(settings.signaling_management_url)),
        token_secret_id=settings.join_token_secret_arn,
        webhooks_queue_url=settings.webhooks_queue_url,
        seat_ttl_seconds=settings.seat_ttl_seconds,
    )


def handle(event: dict[str, Any], signaling: SignalingService | None = None) -> dict[str, Any]:
    """Route one WebSocket event to the service; return the Lambda proxy response.

    Args:
        event: The API Gateway WebSocket event.
        signaling: The service to call (default: this container's).
    """
    svc = signaling or service()
    route = str((event.get("requestContext") or {}).get("routeKey", ""))
    if route == "$connect":
        connect = ConnectEvent.model_validate(event)
        query = connect.query_string_parameters or {}
        connection_id = connect.request_context.connection_id
        result = svc.connect(connection_id, token=query.get("token"), session_hint=query.get("session_id"))
        logger.info("connect", connection_id=connection_id, status=result.status_code, reason=result.reason)
        return {"statusCode": result.status_code, "body": result.reason}
    if route == "$disconnect":
        gone = APIGatewayWebSocketDisconnectEventModel.model_validate(event)
        ctx = gone.request_context
        svc.disconnect(
            ctx.connection_id, status_code=ctx.disconnect_status_code, reason=ctx.disconnect_reason
        )
        return {"statusCode": 200}
    message = APIGatewayWebSocketMessageEventModel.model_validate(event)
    # Binary frames arrive base64-encoded; the protocol is JSON text, so they are bad messages.
    body = None if message.is_base64_encoded else message.body
    svc.message(
        message.request_context.connection_id,
        route=message.request_context.route_key,
        body=body if isinstance(body, str) else None,
    )
    return {"statusCode": 200}
