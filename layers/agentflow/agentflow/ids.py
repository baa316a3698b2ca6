"""Identifiers and timestamps.

Ids are ``<prefix>_<26 chars>``: a millisecond timestamp then randomness, Crockford base32 (the
ULID layout), so that sorting ids sorts by creation time — DynamoDB range keys list newest first
with ``ScanIndexForward=False`` and no extra index.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return a new time-sortable id such as ``ses_01jd…``."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_b32(millis, 10)}{_b32(secrets.randbits(80), 16)}"


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def now_iso() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")
