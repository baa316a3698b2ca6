"""Canonical JSON (RFC 8785, JCS) and the hashes that are signed.

``json.dumps(sort_keys=True)`` is not canonical: it sorts keys by code point rather than by UTF-16
code units, escapes non-ASCII, and prints numbers Python's way (``1.0``, ``1e-05``). Another
language's verifier would hash different bytes. JCS fixes all three, so any JCS library (Go, Java,
JavaScript, …) reproduces ``document_hash`` from the summary JSON alone.

Speed: the reference implementation (the ``rfc8785`` package) serialises node by node in Python,
about 1 ms for a 5 KB summary, which would cap verification near 1,000/s. ``canonicalize`` takes a
fast path through the C JSON encoder when that provably gives the same bytes (every key in the
Basic Multilingual Plane, so code-point order is UTF-16 order; integers within ±(2**53 - 1);
floats that are whole, or whose Python ``repr`` is already the ECMAScript form) and hands anything
else to ``rfc8785``. A property test checks the two agree on arbitrary JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from agentflow.errors import ValidationError

HASH_PREFIX = "SHA256:"
_SAFE_INT = 2**53 - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)


class _Unusual(Exception):
    """A value the fast path cannot serialise exactly like RFC 8785: use the reference."""


def _bmp(key: str) -> bool:
    return key.isascii() or all(ord(c) <= 0xFFFF for c in key)


def _prepared(value: Any) -> Any:
    """``value`` with whole floats as ints, ready for the C encoder; raise ``_Unusual`` otherwise."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        raise _Unusual
    if kind is float:
        if value.is_integer():
            if -_SAFE_INT <= value <= _SAFE_INT:
                return int(value)  # ECMAScript prints 127.0 as 127 (and -0.0 as 0)
            raise _Unusual
        if 1e-4 <= abs(value) < 1e16:  # where repr and ECMAScript's Number::toString agree
            return value
        raise _Unusual
    if kind is list or kind is tuple:
        return [_prepared(v) for v in value]
    if kind is dict:
        if not all(type(k) is str and _bmp(k) for k in value):
            raise _Unusual
        return {k: _prepared(v) for k, v in value.items()}
    raise _Unusual


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises:
        ValidationError: the value holds something JSON cannot carry exactly (NaN, infinities,
            integers beyond ±2**53, non-string keys, lone surrogates, other types).
    """
    try:
        try:
            return _ENCODER.encode(_prepared(value)).encode("utf-8")
        except _Unusual:
            return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise ValidationError(f"Not canonical JSON: {exc}") from exc
    except UnicodeEncodeError as exc:
        raise ValidationError("Not canonical JSON: input contains non-UTF-8 code points") from exc


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (how ``pdf_sha256`` is written)."""
    return hashlib.sha256(data).hexdigest()


def document_hash(summary: Any) -> str:
    """``"SHA256:<hex>"`` of the summary's canonical bytes: what the signature vouches for."""
    return HASH_PREFIX + sha256_hex(canonicalize(summary))
