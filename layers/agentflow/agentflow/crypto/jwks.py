"""RSA public keys as JWKs (RFC 7517) and the key id.

**The ``kid`` is the RFC 7638 JWK thumbprint** of the public key: base64url(SHA-256 of
``{"e":…,"kty":"RSA","n":…}`` with no whitespace and the members in that order). It depends on
the public key alone, so it is stable across regions, accounts, alias moves and re-imports, and an
auditor can recompute it from the key; a JWKS entry whose ``kid`` does not match its own key is
rejected. The KMS key id is stored beside it (``kms_key_id`` on the public-key item) for operators.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agentflow.crypto.jws import JWSFormatError, b64url_decode, b64url_encode
from agentflow.errors import ValidationError


class JWKError(ValidationError):
    """A JWK that is not a usable RS256 public key."""


def _int_b64(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def load_public_key(der_or_pem: bytes) -> rsa.RSAPublicKey:
    """Load an RSA public key from DER (what KMS GetPublicKey returns) or PEM.

    Raises:
        JWKError: not an RSA public key.
    """
    try:
        if der_or_pem.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(der_or_pem)
        else:
            key = serialization.load_der_public_key(der_or_pem)
    except ValueError as exc:
        raise JWKError("not a public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise JWKError("not an RSA public key")
    return key


def public_key_pem(key: rsa.RSAPublicKey) -> str:
    """The SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``) that openssl reads."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an RSA JWK: only ``e``, ``kty`` and ``n`` count."""
    required = {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url_encode(hashlib.sha256(canonical).digest())


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK of ``key``: ``kty``, ``n``, ``e``, ``kid`` (its thumbprint), ``use``, ``alg``."""
    numbers = key.public_numbers()
    jwk = {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
    return {**jwk, "kid": thumbprint(jwk), "use": "sig", "alg": "RS256"}


def jwk_public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    """Turn an RS256 signing JWK back into a key, checking that its ``kid`` is its thumbprint.

    Raises:
        JWKError: wrong type or use, missing members, or a ``kid`` that is not this key's.
    """
    if jwk.get("kty") != "RSA":
        raise JWKError("JWK kty must be RSA")
    if jwk.get("alg", "RS256") != "RS256" or jwk.get("use", "sig") != "sig":
        raise JWKError("JWK is not an RS256 signing key")
    if not all(isinstance(jwk.get(name), str) for name in ("n", "e", "kid")):
        raise JWKError("JWK needs string members n, e and kid")
    if thumbprint(jwk) != jwk["kid"]:
        raise JWKError(f"JWK kid {jwk['kid']} is not the thumbprint of its key")
    try:
        n = int.from_bytes(b64url_decode(jwk["n"]), "big")
        e = int.from_bytes(b64url_decode(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    except (JWSFormatError, ValueError) as exc:
        raise JWKError(f"JWK {jwk['kid']} is not a valid RSA key") from exc


def jwks(keys: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set document: ``{"keys": [...]}``."""
    return {"keys": [dict(k) for k in keys]}


@dataclass(frozen=True)
class KeySet:
    """Parsed public keys by ``kid``, ready for verification, and the entries that were rejected."""

    keys: Mapping[str, rsa.RSAPublicKey]
    rejected: Mapping[str, str]

    @classmethod
    def from_jwks(cls, document: Mapping[str, Any]) -> KeySet:
        """Parse a JWKS document. Unusable entries are kept out and listed in ``rejected``.

        Raises:
            JWKError: the document has no ``keys`` list.
        """
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise JWKError("JWKS has no keys list")
        keys: dict[str, rsa.RSAPublicKey] = {}
        rejected: dict[str, str] = {}
        for entry in entries:
            kid = str(entry.get("kid", "")) if isinstance(entry, Mapping) else ""
            try:
                if not isinstance(entry, Mapping):
                    raise JWKError("JWKS entry is not an object")
                keys[kid] = jwk_public_key(entry)
            except (JWKError, KeyError) as exc:
                rejected[kid] = str(exc)
        return cls(keys=keys, rejected=rejected)
