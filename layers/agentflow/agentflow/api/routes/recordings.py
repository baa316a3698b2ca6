"""Recordings: the upload grant (``POST /v1/sessions/{id}/recordings``) and status."""

from __future__ import annotations

from fastapi import APIRouter, status

from agentflow.api.deps import PrincipalDep, S3Dep, SettingsDep, TableDep
from agentflow.errors import ConflictError, NotFoundError
from agentflow.schemas.errors import error_responses
from agentflow.schemas.recordings import (
    CreateRecordingRequest,
    CreateRecordingResponse,
    PresignedPost,
    RecordingResponse,
)
from agentflow.services import recordings as recs
from agentflow.services.sessions import create_session_service

router = APIRouter(tags=["recordings"])


@router.post(
    "/v1/sessions/{session_id}/recordings",
    status_code=status.HTTP_201_CREATED,
    response_model=CreateRecordingResponse,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
def create_recording(
    session_id: str,
    body: CreateRecordingRequest,
    principal: PrincipalDep,
    table: TableDep,
    s3: S3Dep,
    settings: SettingsDep,
) -> CreateRecordingResponse:
    """Grant a presigned POST for one recording (API key of the tenant, or the host's join token)."""
    principal.require_session(session_id, role="host")
    session = create_session_service(table).get_session(tenant_id=principal.tenant_id, session_id=session_id)
    if session["status"] not in ("scheduled", "ended"):
        raise ConflictError(f"Session {session_id} does not accept recordings")
    recording, post = recs.create_upload(
        table,
        s3,
        bucket=settings.bucket_name,
        session=session,
        filename=body.filename,
        content_type=body.content_type,
        max_bytes=settings.max_upload_bytes,
        expires_in=settings.upload_url_ttl_seconds,
        actor=principal.actor,
    )
    return CreateRecordingResponse(
        recording_id=recording["recording_id"],
        upload=PresignedPost(url=post["url"], fields=post["fields"]),
        expires_at=post["expires_at"],
        max_bytes=settings.max_upload_bytes,
    )


@router.get(
    "/v1/recordings/{recording_id}",
    response_model=RecordingResponse,
    responses=error_responses(401, 404, 422),
)
def get_recording(recording_id: str, principal: PrincipalDep, table: TableDep) -> RecordingResponse:
    """A recording's status, per-stage progress and failure reason."""
    recording = recs.get_recording(table, tenant_id=principal.tenant_id, recording_id=recording_id)
    if principal.kind == "join_token" and principal.session_id != recording["session_id"]:
        # The same 404 as a missing recording: a token must not learn which session owns the id.
        raise NotFoundError.of("Recording", recording_id)
    return RecordingResponse.from_item(recording)
