"""Verification of a signed summary: offline (CLI, auditors) and online (the API) alike.

Needs only the summary JSON, the signature record (its ``jws`` above all), a JWKS and optionally
the PDF or its SHA-256. No AWS, no network. Every check that fails adds a reason; the result is
valid only when there are none.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from agentflow.crypto.canonical import document_hash, sha256_hex
from agentflow.crypto.jwks import KeySet
from agentflow.crypto.jws import JWSFormatError, ParsedJWS, parse
from agentflow.crypto.manifest import ALGORITHM, MANIFEST_FIELDS
from agentflow.errors import ValidationError

# Fields a signature record repeats from the manifest; a record that disagrees is not trusted.
_RECORD_FIELDS = ("signature_id", "summary_id", "session_id", "tenant_id", "document_hash", "pdf_sha256")


@dataclass(frozen=True)
class VerificationResult:
    """The outcome: ``valid`` only if ``reasons`` is empty."""

    valid: bool
    reasons: list[str] = field(default_factory=list)
    kid: str | None = None
    manifest: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """``{"valid", "reasons"}``, the API and CLI shape."""
        return {"valid": self.valid, "reasons": list(self.reasons)}


def _check_signature(token: ParsedJWS, record: Mapping[str, Any], keys: KeySet, reasons: list[str]) -> None:
    kid = token.kid
    if record.get("public_key_id") not in (None, kid):
        reasons.append(f"signature record names key {record.get('public_key_id')} but the JWS names {kid}")
    if record.get("algorithm", ALGORITHM) != ALGORITHM:
        reasons.append(f"algorithm must be {ALGORITHM}, not {record.get('algorithm')!r}")
    key = keys.keys.get(kid)
    if key is None:
        why = keys.rejected.get(kid)
        reasons.append(
            f"key {kid} is rejected in the JWKS: {why}" if why else f"key {kid} is not in the JWKS"
        )
    else:
        try:
            key.verify(token.signature, token.signing_input, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            reasons.append(f"the JWS signature does not verify with key {kid}")
    value = record.get("signature_value")
    if value is not None:
        try:
            matches = base64.b64decode(str(value), validate=True) == token.signature
        except (binascii.Error, ValueError):
            matches = False
        if not matches:
            reasons.append("signature_value is not the JWS signature")


def _check_manifest(
    manifest: Mapping[str, Any],
    record: Mapping[str, Any],
    summary: Any,
    pdf: bytes | None,
    pdf_sha256: str | None,
    reasons: list[str],
) -> None:
    missing = [name for name in MANIFEST_FIELDS if name not in manifest]
    if missing:
        reasons.append(f"the signed manifest lacks {', '.join(missing)}")
    try:
        actual = document_hash(summary)
    except ValidationError as exc:
        reasons.append(f"the summary is not canonicalizable JSON: {exc.message}")
    else:
        if manifest.get("document_hash") != actual:
            reasons.append(
                f"the summary JSON does not match the signed document hash "
                f"(signed {manifest.get('document_hash')}, summary has {actual})"
            )
    for name in _RECORD_FIELDS:
        if name in record and record[name] != manifest.get(name):
            reasons.append(f"signature record {name} differs from the signed manifest")
    signed_pdf = str(manifest.get("pdf_sha256", "")).lower()
    if pdf is not None and sha256_hex(pdf) != signed_pdf:
        reasons.append(
            f"the PDF does not match the signed pdf_sha256 (signed {signed_pdf}, PDF has {sha256_hex(pdf)})"
        )
    if pdf_sha256 is not None and pdf_sha256.strip().lower() != signed_pdf:
        reasons.append(f"pdf_sha256 {pdf_sha256} does not match the signed pdf_sha256 {signed_pdf}")


def verify_summary(
    *,
    summary: Any,
    signature: Mapping[str, Any],
    keys: KeySet,
    pdf: bytes | None = None,
    pdf_sha256: str | None = None,
) -> VerificationResult:
    """Check a summary and its signature record against a key set.

    Args:
        summary: the summary JSON as parsed (hashed with RFC 8785, so formatting does not matter).
        signature: the signature record (``jws`` required; ``public_key_id``, ``signature_value``,
            ``document_hash``… are checked against the signed manifest when present).
        keys: the published keys (``KeySet.from_jwks``).
        pdf: the PDF's bytes, if it is to be checked.
        pdf_sha256: the PDF's hex SHA-256, if only the hash is at hand.

    Returns:
        ``valid`` and the reasons it is not; ``kid`` and ``manifest`` when the JWS could be read.
    """
    token_text = signature.get("jws")
    if not isinstance(token_text, str):
        return VerificationResult(False, ["the signature record has no jws"])
    try:
        token = parse(token_text)
    except JWSFormatError as exc:
        return VerificationResult(False, [f"the JWS is malformed: {exc.message}"])
    reasons: list[str] = []
    _check_signature(token, signature, keys, reasons)
    _check_manifest(token.payload, signature, summary, pdf, pdf_sha256, reasons)
    return VerificationResult(not reasons, reasons, kid=token.kid, manifest=dict(token.payload))
