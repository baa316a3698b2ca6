"""API Gateway WebSocket events ($connect, join, signal, ping, leave, $disconnect) → signaling."""

from typing import Any

from agentflow.signaling.edge import handle, logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One WebSocket event: parse it, call the signaling service, answer with a status."""
    return handle(event)
