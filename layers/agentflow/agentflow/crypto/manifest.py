"""What is signed: the manifest (the JWS payload) and the signature block printed in the PDF.

The PDF shows the signature id, key id, algorithm and document hash, all known before signing;
the PDF's own SHA-256 then goes into the manifest, so the PDF cannot carry the signature value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALGORITHM = "RS256"
MANIFEST_FIELDS = (
    "signature_id",
    "summary_id",
    "session_id",
    "tenant_id",
    "document_hash",
    "pdf_sha256",
    "iat",
)


@dataclass(frozen=True)
class SignatureBlock:
    """The signature facts printed in the PDF, fixed before the PDF is rendered and signed."""

    signature_id: str
    key_id: str  # the JWS kid: RFC 7638 thumbprint of the public key
    algorithm: str
    document_hash: str  # "SHA256:<hex>" of the RFC 8785 canonical summary JSON


def build_manifest(
    *,
    signature_id: str,
    summary_id: str,
    session_id: str,
    tenant_id: str,
    document_hash: str,
    pdf_sha256: str,
    iat: int,
) -> dict[str, Any]:
    """The JWS payload: ids, both hashes and the signing time (Unix seconds)."""
    return {
        "signature_id": signature_id,
        "summary_id": summary_id,
        "session_id": session_id,
        "tenant_id": tenant_id,
        "document_hash": document_hash,
        "pdf_sha256": pdf_sha256,
        "iat": iat,
    }
