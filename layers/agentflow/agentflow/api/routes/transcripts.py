"""``GET /v1/sessions/{id}/transcript``: the signed summary's transcript as WebVTT, SRT, text or JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from agentflow.api.deps import PrincipalDep, SummaryServiceDep, TableDep
from agentflow.reports.transcript import MEDIA_TYPES, Format, render
from agentflow.schemas.errors import error_responses
from agentflow.services.sessions import create_session_service

router = APIRouter(tags=["summaries"])


@router.get(
    "/v1/sessions/{session_id}/transcript",
    response_class=Response,
    responses={
        **error_responses(401, 404, 422),
        200: {
            "description": "The transcript of the latest signed summary",
            "content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()},
        },
    },
)
def get_transcript(
    session_id: str,
    principal: PrincipalDep,
    table: TableDep,
    summaries: SummaryServiceDep,
    format: Annotated[Format, Query(description="vtt (voice tags), srt, txt or json")] = "vtt",
) -> Response:
    """Who said what and when, from the session's latest signed summary (API key or join token)."""
    principal.require_session(session_id)
    create_session_service(table).get_session(tenant_id=principal.tenant_id, session_id=session_id)
    item = summaries.latest(tenant_id=principal.tenant_id, session_id=session_id)
    return Response(
        content=render(summaries.document(item), format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'inline; filename="transcript-{session_id}.{format}"'},
    )
