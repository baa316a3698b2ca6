"""``GET /v1/sessions/{id}/summary``: the latest signed summary of a session.

Returns the summary JSON, its signature record and a short-lived presigned GET URL of the PDF;
with the JWKS that is everything ``agentflow verify`` needs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from fastapi import APIRouter
from pydantic import BaseModel

from agentflow.api.deps import PrincipalDep, SettingsDep, TableDep
from agentflow.aws import keys, records
from agentflow.aws.clients import client
from agentflow.errors import NotFoundError
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


def latest_summary(table: Any, tenant_id: str, session_id: str) -> dict[str, Any]:
    """The newest live, completed summary item of a tenant's session.

    Raises:
        NotFoundError: the session has no completed summary (yet).
    """
    items, _ = records.query_live(
        table,
        keys.session(session_id),
        sk_prefix=keys.SUMMARY,
        index="gsi1",
        limit=1,
        filter_expression=Attr("tenant_id").eq(tenant_id) & Attr("status").eq("COMPLETED"),
    )
    if not items:
        raise NotFoundError(f"Summary of session {session_id} not found")
    return items[0]


@router.get(
    "/v1/sessions/{session_id}/summary",
    response_model=SummaryResponse,
    responses=error_responses(401, 404, 422),
)
def get_summary(
    session_id: str, principal: PrincipalDep, table: TableDep, settings: SettingsDep
) -> SummaryResponse:
    """The session's latest summary, its signature record and a presigned PDF URL (5 minutes)."""
    principal.require_session(session_id)
    create_session_service(table).get_session(session_id, principal.tenant_id)
    item = latest_summary(table, principal.tenant_id, session_id)
    s3 = client("s3")
    body = s3.get_object(Bucket=settings.bucket_name, Key=item["summary_key"])["Body"].read()
    pdf_url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.bucket_name,
            "Key": item["pdf_key"],
            "ResponseContentType": "application/pdf",
            "ResponseContentDisposition": f'attachment; filename="summary-{session_id}.pdf"',
        },
        ExpiresIn=PDF_URL_TTL_SECONDS,
    )
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
        summary=json.loads(body),
        signature=get_signature(table, principal.tenant_id, item["signature_id"]),
        pdf_url=pdf_url,
        pdf_url_expires_at=expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
