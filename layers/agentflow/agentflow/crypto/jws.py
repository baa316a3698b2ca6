"""Compact JWS (RFC 7515) with ``alg: RS256``: building the signing input and parsing tokens.

The header and payload are serialised as canonical JSON (RFC 8785) before base64url encoding, so
the same manifest always gives the same signing input. Verifiers must not re-serialise: they check
the signature over the ASCII bytes ``<header>.<payload>`` exactly as they appear in the token.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from agentflow.crypto.canonical import canonicalize
from agentflow.errors import ValidationError

ALGORITHM = "RS256"
TYPE = "JWT"


class JWSFormatError(ValidationError):
    """A token that is not a well-formed compact RS256 JWS."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly (no other alphabet, no stray characters).

    Raises:
        JWSFormatError: ``text`` is not base64url.
    """
    if any(c in text for c in "+/= \n\r\t"):
        raise JWSFormatError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JWSFormatError("not base64url") from exc
    # Set unused trailing bits spell the same bytes another way: a second token that would verify.
    if b64url_encode(data) != text:
        raise JWSFormatError("not canonical base64url")
    return data


def header(kid: str) -> dict[str, str]:
    """The protected header of every AgentFlow signature."""
    return {"alg": ALGORITHM, "kid": kid, "typ": TYPE}


def signing_input(protected: dict[str, Any], payload: dict[str, Any]) -> bytes:
    """``base64url(JCS(header)) + "." + base64url(JCS(payload))`` as ASCII bytes: what KMS signs."""
    return f"{b64url_encode(canonicalize(protected))}.{b64url_encode(canonicalize(payload))}".encode("ascii")


def compact(signing_input_bytes: bytes, signature: bytes) -> str:
    """Join a signing input and its signature into the compact serialisation."""
    return f"{signing_input_bytes.decode('ascii')}.{b64url_encode(signature)}"


@dataclass(frozen=True)
class ParsedJWS:
    """A compact JWS split into its parts (nothing verified yet)."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str:
        """The key id the header names."""
        return str(self.header.get("kid", ""))


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JWSFormatError(f"JWS {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JWSFormatError(f"JWS {what} is not a JSON object")
    return value


def parse(token: str) -> ParsedJWS:
    """Split and decode a compact JWS; check it claims RS256 with a ``kid``.

    Raises:
        JWSFormatError: not three base64url parts, not JSON objects, another ``alg``, no ``kid``,
            or a ``crit`` header (no extensions are understood, so RFC 7515 says reject).
    """
    if not isinstance(token, str) or not token.isascii():
        raise JWSFormatError("JWS is not an ASCII string")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JWSFormatError("JWS must have three non-empty parts")
    protected = _json_object(parts[0], "header")
    payload = _json_object(parts[1], "payload")
    if protected.get("alg") != ALGORITHM:
        raise JWSFormatError(f"JWS alg must be {ALGORITHM}, not {protected.get('alg')!r}")
    if not isinstance(protected.get("kid"), str) or not protected["kid"]:
        raise JWSFormatError("JWS header has no kid")
    if "crit" in protected:
        raise JWSFormatError("JWS header has unsupported crit extensions")
    return ParsedJWS(
        header=protected,
        payload=payload,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=b64url_decode(parts[2]),
    )
