"""Join tokens: short-lived JWTs (HS256) that let a widget act for one participant of one session.

The HMAC secret lives in Secrets Manager (``JOIN_TOKEN_SECRET_ARN``) and is read once per warm
container (per client the edge passes in: ``aws.clients`` keeps one per process). A token grants
only its own session and role.

HS256 compact JWS is written with the standard library rather than PyJWT: PyJWT loads its RSA and
EC algorithms (and ``cryptography``) at import, which the API function's cold start pays for a
scheme it never uses here. Verification is strict: the header must say HS256, the signature is
compared in constant time before the payload is even parsed, and every claim is type-checked.
Tokens interoperate with any JWT library (the tests check them against PyJWT both ways).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from agentflow.errors import UnauthorizedError
from agentflow.ids import new_id

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

Role = Literal["host", "client"]
ALGORITHM = "HS256"
AUDIENCE = "agentflow-widget"
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")  # base64url without padding
_MAX_TOKEN_LENGTH = 4096


@lru_cache(maxsize=4)
def _secret(secrets: SecretsManagerClient, secret_id: str) -> bytes:
    value: str = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    return value.encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # Set unused trailing bits spell the same bytes another way: a second token that would verify.
    if _b64url(data) != segment:
        raise ValueError("not canonical base64url")
    return data


def _mac(signing_input: str, secret: bytes) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()


_HEADER = _b64url(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode())


@dataclass(frozen=True)
class JoinClaims:
    """The verified claims of a join token."""

    session_id: str
    tenant_id: str
    role: Role
    jti: str
    exp: int


def issue(
    *,
    secrets: SecretsManagerClient,
    secret_id: str,
    session_id: str,
    tenant_id: str,
    role: Role,
    ttl_seconds: int,
) -> str:
    """Sign a join token for one participant of one session.

    Args:
        secrets: The Secrets Manager client that reads the HMAC key.
        secret_id: ARN or name of the Secrets Manager secret holding the HMAC key.
        session_id: The session the token acts on.
        tenant_id: The session's tenant.
        role: ``host`` or ``client``.
        ttl_seconds: Lifetime; the token's ``exp`` is now plus this.

    Returns:
        The compact JWT (``header.payload.signature``).
    """
    now = int(time.time())
    claims = {
        "session_id": session_id,
        "tenant_id": tenant_id,
        "role": role,
        "jti": new_id("jti"),
        "iat": now,
        "exp": now + ttl_seconds,
        "aud": AUDIENCE,
    }
    signing_input = f"{_HEADER}.{_b64url(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{signing_input}.{_b64url(_mac(signing_input, _secret(secrets, secret_id)))}"


def _claims(token: str, secret: bytes) -> dict[str, Any]:
    """The payload of a well-formed HS256 token whose signature is valid, else ``UnauthorizedError``."""
    parts = token.split(".")
    if len(token) > _MAX_TOKEN_LENGTH or len(parts) != 3 or not all(_SEGMENT.match(p) for p in parts):
        raise UnauthorizedError()
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = json.loads(_b64url_decode(header_b64))
        signature = _b64url_decode(signature_b64)
    except ValueError as exc:  # binascii.Error, JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise UnauthorizedError() from exc
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise UnauthorizedError()
    if not hmac.compare_digest(signature, _mac(f"{header_b64}.{payload_b64}", secret)):
        raise UnauthorizedError()
    try:
        claims = json.loads(_b64url_decode(payload_b64))
    except ValueError as exc:
        raise UnauthorizedError() from exc
    if not isinstance(claims, dict):
        raise UnauthorizedError()
    return claims


def verify(token: str, *, secrets: SecretsManagerClient, secret_id: str) -> JoinClaims:
    """Verify signature, audience and expiry; raise ``UnauthorizedError`` on any failure.

    Args:
        token: The compact JWT.
        secrets: The Secrets Manager client that reads the HMAC key.
        secret_id: ARN or name of the Secrets Manager secret holding the HMAC key.

    Raises:
        UnauthorizedError: malformed, not HS256, wrongly signed, for another audience, missing a
            claim, or expired (then with the message ``Join token expired``).
    """
    claims = _claims(token, _secret(secrets, secret_id))
    audience = claims.get("aud")
    if audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience):
        raise UnauthorizedError()
    exp = claims.get("exp")
    strings = [claims.get(name) for name in ("session_id", "tenant_id", "jti")]
    if not isinstance(exp, int) or isinstance(exp, bool) or not all(isinstance(s, str) for s in strings):
        raise UnauthorizedError()
    role = claims.get("role")
    if role not in ("host", "client"):
        raise UnauthorizedError()
    if exp <= time.time():
        raise UnauthorizedError("Join token expired")
    return JoinClaims(
        session_id=claims["session_id"], tenant_id=claims["tenant_id"], role=role, jti=claims["jti"], exp=exp
    )
