"""Sign and verify AgentFlow webhooks (the Standard Webhooks scheme), for integrators.

Every delivery carries three headers:

- ``webhook-id``: the event id; the same on every retry and redelivery, so use it to deduplicate.
- ``webhook-timestamp``: Unix seconds when this attempt was signed.
- ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` signatures of
  ``"{webhook-id}.{webhook-timestamp}.{raw body}"``, one per active secret (two while a secret
  rotation is in its grace period).

A secret is ``whsec_`` followed by the base64 of the HMAC key. This module needs only the
standard library, so it can be copied into a receiver as it is::

    from agentflow.webhooks import verify
    event = verify(request_body_bytes, request_headers, "whsec_...")

See https://www.standardwebhooks.com/ for the scheme.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 5 * 60

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "WebhookVerificationError",
    "sign",
    "signature_header",
    "signing_key",
    "verify",
]


class WebhookVerificationError(Exception):
    """The payload was not signed with the secret, or is too old or too new to accept."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (base64 after the prefix).

    Raises:
        ValueError: the secret is not base64 after its prefix.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc


def _as_bytes(payload: bytes | str) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


def sign(secret: str, msg_id: str, timestamp: int, payload: bytes | str) -> str:
    """One signature, ``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{payload}">``.

    Args:
        secret: a ``whsec_…`` secret.
        msg_id: the ``webhook-id`` header.
        timestamp: the ``webhook-timestamp`` header, Unix seconds.
        payload: the exact body bytes (or text, UTF-8 encoded).
    """
    signed = f"{msg_id}.{timestamp}.".encode() + _as_bytes(payload)
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, payload: bytes | str) -> str:
    """The ``webhook-signature`` header: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, payload) for secret in secrets)


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | Iterable[str],
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """Check a delivery's signature and timestamp; return the parsed JSON body.

    Args:
        payload: the raw request body, exactly as received (do not re-serialise parsed JSON).
        headers: the request headers (any capitalisation).
        secret: your ``whsec_…`` secret, or several (old and new while you rotate).
        tolerance_seconds: how far ``webhook-timestamp`` may be from now, either way (replay guard).
        now: the current Unix time (for tests).

    Returns:
        The event: ``{"id", "type", "version", "timestamp", "data"}``.

    Raises:
        WebhookVerificationError: a header is missing, the timestamp is out of tolerance, or no
            signature matches any of the secrets.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not timestamp_text or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(timestamp_text)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    expected = [sign(s, msg_id, timestamp, payload).partition(",")[2] for s in secrets]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        # Compare every pair in constant time; stop only on a match.
        if any(hmac.compare_digest(value.encode(), e.encode()) for e in expected):
            return json.loads(_as_bytes(payload))
    raise WebhookVerificationError("no matching signature")
