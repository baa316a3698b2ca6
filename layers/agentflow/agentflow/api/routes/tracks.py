"""``/v1/sessions/{id}/tracks``: each participant's browser uploads its own track while the call runs.

Writes take the participant's join token only, and only for that participant's tracks (docs/CALL.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, status

from agentflow.api.deps import (
    PresignerDep,
    Principal,
    PrincipalDep,
    S3Dep,
    SettingsDep,
    SQSDep,
    TableDep,
)
from agentflow.aws.items import Role, SessionItem
from agentflow.errors import ForbiddenError
from agentflow.schemas.errors import error_responses
from agentflow.schemas.tracks import (
    CompleteTrackRequest,
    CreateTrackRequest,
    PartUrl,
    PartUrlsRequest,
    PartUrlsResponse,
    StoredPart,
    StoredPartsResponse,
    TrackPage,
    TrackResponse,
)
from agentflow.services.sessions import create_session_service
from agentflow.services.tracks import TrackService, create_track_service

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

router = APIRouter(prefix="/v1/sessions/{session_id}/tracks", tags=["tracks"])

SessionId = Annotated[str, Path(pattern=r"^ses_[0-9a-z]{26}$", description="A session id (`ses_…`).")]
TrackId = Annotated[str, Path(pattern=r"^trk_[0-9a-z]{26}$", description="A track id (`trk_…`).")]


def _participant(principal: Principal, session_id: str) -> Role:
    """The role a join token of this session acts as; API keys do not write tracks."""
    principal.require_session(session_id)
    if principal.kind != "join_token" or principal.role is None:
        raise ForbiddenError("Tracks are written by a participant's browser with its join token")
    return principal.role


def _session(principal: Principal, session_id: str, table: Table) -> SessionItem:
    return create_session_service(table).get_session(tenant_id=principal.tenant_id, session_id=session_id)


def get_track_service(
    table: TableDep, settings: SettingsDep, s3: S3Dep, presigner: PresignerDep, sqs: SQSDep
) -> TrackService:
    """The track operations over the table, the recordings bucket and the assembly queue."""
    return create_track_service(table, settings, s3=s3, presigner=presigner, sqs=sqs)


TrackServiceDep = Annotated[TrackService, Depends(get_track_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TrackResponse,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
def create_track(
    session_id: SessionId,
    body: CreateTrackRequest,
    principal: PrincipalDep,
    table: TableDep,
    tracks: TrackServiceDep,
) -> TrackResponse:
    """Open a track: the participant's recorder just started (its start on the server's clock)."""
    role = _participant(principal, session_id)
    session = _session(principal, session_id, table)
    return TrackResponse.from_item(tracks.create_track(session, role, body, actor=principal.actor))


@router.get("", response_model=TrackPage, responses=error_responses(401, 404, 422))
def list_tracks(
    session_id: SessionId, principal: PrincipalDep, table: TableDep, tracks: TrackServiceDep
) -> TrackPage:
    """The caller's own tracks (join token) or every track of the session (API key), by role and start."""
    principal.require_session(session_id)
    session = _session(principal, session_id, table)
    role = principal.role if principal.kind == "join_token" else None
    return TrackPage(items=[TrackResponse.from_item(t) for t in tracks.list_tracks(session, role)])


@router.post(
    "/{track_id}/parts",
    response_model=PartUrlsResponse,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
def grant_parts(
    session_id: SessionId,
    track_id: TrackId,
    body: PartUrlsRequest,
    principal: PrincipalDep,
    table: TableDep,
    tracks: TrackServiceDep,
) -> PartUrlsResponse:
    """Presigned PUT URLs for the given part numbers and sizes (short-lived; sizes are signed)."""
    role = _participant(principal, session_id)
    session = _session(principal, session_id, table)
    track = tracks.get_track(session, role=role, track_id=track_id)
    grants = tracks.grant_parts(session, track, body.parts)
    return PartUrlsResponse(parts=[PartUrl.model_validate(g) for g in grants])


@router.get(
    "/{track_id}/parts",
    response_model=StoredPartsResponse,
    responses=error_responses(401, 403, 404, 422),
)
def list_parts(
    session_id: SessionId,
    track_id: TrackId,
    principal: PrincipalDep,
    table: TableDep,
    tracks: TrackServiceDep,
) -> StoredPartsResponse:
    """The parts already stored, so that a reloaded page sends only the others."""
    principal.require_session(session_id)
    session = _session(principal, session_id, table)
    role = principal.role if principal.kind == "join_token" else None
    track = tracks.get_track(session, role=role, track_id=track_id)
    stored = tracks.list_parts(track)
    numbers = {n for n, _ in stored}
    highest = max(numbers, default=0)
    return StoredPartsResponse(
        track_id=track_id,
        parts=[StoredPart(part_number=n, size_bytes=size) for n, size in stored],
        missing=[n for n in range(1, highest) if n not in numbers],
    )


@router.post(
    "/{track_id}/complete",
    response_model=TrackResponse,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
def complete_track(
    session_id: SessionId,
    track_id: TrackId,
    body: CompleteTrackRequest,
    principal: PrincipalDep,
    table: TableDep,
    tracks: TrackServiceDep,
) -> TrackResponse:
    """The recorder stopped after ``part_count`` parts; completing again with the same count is harmless."""
    role = _participant(principal, session_id)
    session = _session(principal, session_id, table)
    track = tracks.get_track(session, role=role, track_id=track_id)
    return TrackResponse.from_item(
        tracks.complete_track(session, track, part_count=body.part_count, actor=principal.actor)
    )
