"""Canonical JSON (RFC 8785, JCS) and the hashes that are signed.

``json.dumps(sort_keys=True)`` is not canonical: it sorts keys by code point rather than by UTF-16
code units, escapes non-ASCII, and prints numbers Python's way (``1.0``, ``1e+21`` vs ``1e21``).
Another language's verifier would hash different bytes. JCS fixes all three, so any JCS library
(Go, Java, JavaScript, …) reproduces ``document_hash`` from the summary JSON alone.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from agentflow.errors import ValidationError

HASH_PREFIX = "SHA256:"


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises:
        ValidationError: the value holds something JSON cannot carry exactly (NaN, infinities,
            integers beyond ±2**53, non-string keys, other types).
    """
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise ValidationError(f"Not canonical JSON: {exc}") from exc


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (how ``pdf_sha256`` is written)."""
    return hashlib.sha256(data).hexdigest()


def document_hash(summary: Any) -> str:
    """``"SHA256:<hex>"`` of the summary's canonical bytes: what the signature vouches for."""
    return HASH_PREFIX + sha256_hex(canonicalize(summary))
