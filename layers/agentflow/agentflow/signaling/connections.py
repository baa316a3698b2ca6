"""The ``@connections`` management API: push a frame to a connection, or close it.

The client is built with an explicit ``endpoint_url`` (``SIGNALING_MANAGEMENT_URL``:
``https://{api}.execute-api.{region}.amazonaws.com/{stage}`` in AWS, the local gateway's URL here):
the local stack points ``AWS_ENDPOINT_URL`` at moto for every other service, and moto's
``apigatewaymanagementapi`` only records posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# A push that cannot be made in a few seconds is not worth holding the sender's invocation for
# (API Gateway's integration timeout is 29 s); two retries cover a throttle.
_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=5)


class Post(Protocol):
    """Send ``data`` to a connection; ``False`` when it is gone (HTTP 410)."""

    def __call__(self, connection_id: str, data: bytes) -> bool: ...


class Close(Protocol):
    """Close a connection (API Gateway then fires its ``$disconnect``); a gone one is no error."""

    def __call__(self, connection_id: str) -> None: ...


@dataclass(frozen=True)
class Connections:
    """Operations on the WebSocket API's open connections."""

    post: Post
    close: Close


def is_gone(exc: ClientError) -> bool:
    """True when the management API answered 410: the connection is closed or never existed."""
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("GoneException", "410") or status == 410


@lru_cache(maxsize=4)
def management_client(endpoint_url: str) -> Any:
    """The process-wide ``apigatewaymanagementapi`` client for one API stage's endpoint."""
    if not endpoint_url:
        raise RuntimeError("SIGNALING_MANAGEMENT_URL is not set")
    return boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url=endpoint_url, config=_CONFIG
    )


def create_connections(api: Any) -> Connections:
    """Build the connection operations over an ``apigatewaymanagementapi`` client."""

    def post(connection_id: str, data: bytes) -> bool:
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if is_gone(exc):
                return False
            raise
        return True

    def close(connection_id: str) -> None:
        try:
            api.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if not is_gone(exc):
                raise

    return Connections(post=post, close=close)
