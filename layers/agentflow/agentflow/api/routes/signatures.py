"""Public keys and verification, for auditors: no authentication.

``GET /.well-known/jwks.json`` lists every key that has signed (and is not compromised);
``GET /v1/public-keys/{kid}`` gives one as PEM; ``POST /v1/signatures/verify`` checks a summary and
its signature record against those keys, exactly as ``agentflow verify`` does offline.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from agentflow.api.deps import TableDep
from agentflow.schemas.errors import error_responses

router = APIRouter(tags=["signatures"])

_KEYS_CACHE = "public, max-age=300"  # keys are only ever added; five minutes bounds a rotation's lag


class JWK(BaseModel):
    """An RS256 public key (RFC 7517); ``kid`` is its RFC 7638 thumbprint."""

    kty: str
    n: str
    e: str
    kid: str
    use: str
    alg: str


class JWKSet(BaseModel):
    """A JWK Set."""

    keys: list[JWK]


class VerifyRequest(BaseModel):
    """A summary JSON and its signature record; optionally the PDF's SHA-256 (hex)."""

    summary: dict[str, Any]
    signature: dict[str, Any]
    pdf_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class VerifyResponse(BaseModel):
    """``valid`` only if ``reasons`` is empty."""

    valid: bool
    reasons: list[str]


@router.get("/.well-known/jwks.json", response_model=JWKSet)
def get_jwks(table: TableDep, response: Response) -> dict[str, Any]:
    """Every public key that has signed a summary and is not compromised."""
    response.headers["Cache-Control"] = _KEYS_CACHE
    from agentflow.services import signatures  # on first use: cryptography is ~40 ms of cold start

    return signatures.jwks_document(table)


@router.get(
    "/v1/public-keys/{kid}",
    response_class=Response,
    responses={
        200: {"content": {"application/x-pem-file": {}}, "description": "SubjectPublicKeyInfo PEM"},
        **error_responses(404, 422),
    },
)
def get_public_key_pem(kid: str, table: TableDep) -> Response:
    """One public key as PEM (``openssl`` reads it directly)."""
    from agentflow.services import signatures

    item = signatures.get_public_key(table, kid)
    return Response(
        content=str(item["public_key_pem"]),
        media_type="application/x-pem-file",
        headers={"Cache-Control": _KEYS_CACHE},
    )


@router.post("/v1/signatures/verify", response_model=VerifyResponse, responses=error_responses(400, 422))
def verify(body: VerifyRequest, table: TableDep) -> dict[str, Any]:
    """Verify a summary and its signature record against the published keys."""
    from agentflow.crypto.jwks import KeySet
    from agentflow.crypto.verify import verify_summary
    from agentflow.services import signatures

    keys = KeySet.from_jwks(signatures.jwks_document(table))
    result = verify_summary(
        summary=body.summary, signature=body.signature, keys=keys, pdf_sha256=body.pdf_sha256
    )
    return result.as_dict()
