"""``GET /v1/sessions/{id}/summary``: the latest signed summary of a session.

Returns the summary JSON, its signature record and a short-lived presigned GET URL of the PDF;
with the JWKS that is everything ``agentflow verify`` needs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from agentflow.api.deps import PrincipalDep, SummaryServiceDep, TableDep
from agentflow.ids import utcnow
from agentflow.schemas.errors import error_responses
from agentflow.services.sessions import create_session_service

router = APIRouter(tags=["summaries"])

PDF_URL_TTL_SECONDS = 300


class SummaryResponse(BaseModel):
    """A session's signed summary."""

    summary_id: str
    session_id: str
    recording_id: str | None = None
    status: str
    created_at: str
    document_hash: str
    pdf_sha256: str
    summary: dict[str, Any]
    signature: dict[str, Any]
    pdf_url: str
    pdf_url_expires_at: str


@router.get(
    "/v1/sessions/{session_id}/summary",
    response_model=SummaryResponse,
    responses=error_responses(401, 404, 422),
)
def get_summary(
    session_id: str, principal: PrincipalDep, table: TableDep, summaries: SummaryServiceDep
) -> SummaryResponse:
    """The session's latest summary, its signature record and a presigned PDF URL (5 minutes)."""
    principal.require_session(session_id)
    create_session_service(table).get_session(tenant_id=principal.tenant_id, session_id=session_id)
    item = summaries.latest(tenant_id=principal.tenant_id, session_id=session_id)
    pdf_url = summaries.pdf_url(item, filename=f"summary-{session_id}.pdf", expires_in=PDF_URL_TTL_SECONDS)
    expires = utcnow() + timedelta(seconds=PDF_URL_TTL_SECONDS)
    from agentflow.services.signatures import (
        get_signature,  # on first use: cryptography is ~40 ms of cold start
    )

    return SummaryResponse(
        summary_id=item["summary_id"],
        session_id=session_id,
        recording_id=item.get("recording_id"),
        status=item["status"],
        created_at=item["created_at"],
        document_hash=item["document_hash"],
        pdf_sha256=item["pdf_sha256"],
        summary=summaries.document(item),
        signature=get_signature(table, tenant_id=principal.tenant_id, signature_id=item["signature_id"]),
        pdf_url=pdf_url,
        pdf_url_expires_at=expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
