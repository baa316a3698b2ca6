"""Join tokens: short-lived JWTs (HS256) that let a widget act for one participant of one session.

The HMAC secret lives in Secrets Manager (``JOIN_TOKEN_SECRET_ARN``) and is read once per warm
container. A token grants only its own session and role.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jwt

from agentflow.aws.clients import client
from agentflow.errors import UnauthorizedError
from agentflow.ids import new_id

Role = Literal["host", "client"]
_ALGORITHM = "HS256"
_AUDIENCE = "agentflow-widget"


@lru_cache(maxsize=4)
def _secret(secret_id: str) -> str:
    value: str = client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return value


@dataclass(frozen=True)
class JoinClaims:
    """The verified claims of a join token."""

    session_id: str
    tenant_id: str
    role: Role
    jti: str
    exp: int


def issue(*, secret_id: str, session_id: str, tenant_id: str, role: Role, ttl_seconds: int) -> str:
    """Sign a join token for one participant of one session."""
    now = int(time.time())
    claims = {
        "session_id": session_id,
        "tenant_id": tenant_id,
        "role": role,
        "jti": new_id("jti"),
        "iat": now,
        "exp": now + ttl_seconds,
        "aud": _AUDIENCE,
    }
    return jwt.encode(claims, _secret(secret_id), algorithm=_ALGORITHM)


def verify(token: str, *, secret_id: str) -> JoinClaims:
    """Verify signature, audience and expiry; raise ``UnauthorizedError`` on any failure."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _secret(secret_id),
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "session_id", "tenant_id", "role", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("Join token expired") from exc
    except jwt.PyJWTError as exc:
        raise UnauthorizedError() from exc
    if claims["role"] not in ("host", "client"):
        raise UnauthorizedError()
    return JoinClaims(
        session_id=claims["session_id"],
        tenant_id=claims["tenant_id"],
        role=claims["role"],
        jti=claims["jti"],
        exp=int(claims["exp"]),
    )
