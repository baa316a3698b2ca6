"""``/v1/sessions``: create, read, list, end, soft-delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from agentflow.api.deps import PrincipalDep, SecretsDep, SettingsDep, SQSDep, TableDep, TenantDep
from agentflow.api.pagination import decode_cursor, encode_cursor
from agentflow.aws import keys
from agentflow.aws.items import SessionItem
from agentflow.errors import NotFoundError, ValidationError
from agentflow.net import check_webhook_url
from agentflow.schemas.errors import error_responses
from agentflow.schemas.sessions import (
    CreateSessionRequest,
    CreateSessionResponse,
    RecordingSummary,
    SessionPage,
    SessionResponse,
    WidgetUrls,
)
from agentflow.services import join_tokens
from agentflow.services.pipeline import create_pipeline_service
from agentflow.services.recordings import session_recordings
from agentflow.services.sessions import create_session_service
from agentflow.services.workflows import create_workflow_service
from agentflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
logger = Logger(service="agentflow-api")

# Ids are ``ses_`` + 26 ULID characters (agentflow.ids); anything else is rejected before it
# reaches DynamoDB (whose key size limit would otherwise turn a long id into a 500).
SessionId = Annotated[str, Path(pattern=r"^ses_[0-9a-z]{26}$", description="A session id (`ses_…`).")]


def widget_base(settings: Settings, request: Request) -> str:
    """Where the widget lives: configured, or served by this API at ``/widget``."""
    if settings.widget_base_url:
        return settings.widget_base_url.rstrip("/")
    api = settings.public_api_url or str(request.base_url)
    return api.rstrip("/") + "/widget"


def to_response(table: Table, session: SessionItem) -> SessionResponse:
    """The API view of a stored session, with its recordings."""
    recs = [
        RecordingSummary(
            recording_id=r["recording_id"], status=r["status"], failure_reason=r.get("failure_reason")
        )
        for r in session_recordings(table, session["session_id"])
    ]
    fields = {k: v for k, v in session.items() if k in SessionResponse.model_fields}
    signaling_url = get_settings().signaling_url or None
    return SessionResponse.model_validate({**fields, "recordings": recs, "signaling_url": signaling_url})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreateSessionResponse,
    responses=error_responses(400, 401, 409, 422),
)
def create_session(
    body: CreateSessionRequest,
    request: Request,
    response: Response,
    tenant: TenantDep,
    table: TableDep,
    secrets: SecretsDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> CreateSessionResponse:
    """Create a session; the widget URLs carry each participant's join token."""
    if body.webhook_url:
        check_webhook_url(body.webhook_url, local_mode=settings.local_mode)
    if body.workflow_id:
        # Checked now, not when the summary runs: a typo should fail the create, not the pipeline.
        try:
            create_workflow_service(table).get_workflow(
                tenant_id=tenant.tenant_id, workflow_id=body.workflow_id
            )
        except NotFoundError as exc:
            raise ValidationError(f"workflow {body.workflow_id} not found", field="workflow_id") from exc
    service = create_session_service(table, idempotency_ttl_seconds=settings.idempotency_ttl_seconds)
    session, created = service.create_session(
        body, tenant.tenant_id, actor=tenant.actor, idempotency_key=idempotency_key
    )
    if not created:
        # A replay answers like the first response (201, same session); its widget URLs carry
        # freshly signed tokens, since tokens are never stored.
        response.headers["Idempotent-Replayed"] = "true"
    base = widget_base(settings, request)
    urls = {
        role: f"{base}/{session['session_id']}?token="
        + join_tokens.issue(
            secrets=secrets,
            secret_id=settings.join_token_secret_arn,
            session_id=session["session_id"],
            tenant_id=tenant.tenant_id,
            role=role,
            ttl_seconds=settings.join_token_ttl_seconds,
        )
        for role in ("host", "client")
    }
    view = to_response(table, session)
    return CreateSessionResponse(**view.model_dump(), widget_urls=WidgetUrls(**urls))


@router.get("", response_model=SessionPage, responses=error_responses(401, 422))
def list_sessions(
    tenant: TenantDep,
    table: TableDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(scheduled|ended)$")] = None,
) -> SessionPage:
    """List the tenant's sessions, newest first."""
    items, next_key = create_session_service(table).list_sessions(
        tenant.tenant_id,
        limit=limit,
        cursor=decode_cursor(cursor, tenant_id=tenant.tenant_id, sk_prefix=keys.SESSION),
        status=status_,
    )
    return SessionPage(items=[to_response(table, i) for i in items], next_cursor=encode_cursor(next_key))


@router.get("/{session_id}", response_model=SessionResponse, responses=error_responses(401, 404, 422))
def get_session(session_id: SessionId, principal: PrincipalDep, table: TableDep) -> SessionResponse:
    """One session (an API key of its tenant, or a join token of this session)."""
    principal.require_session(session_id)
    return to_response(
        table, create_session_service(table).get_session(tenant_id=principal.tenant_id, session_id=session_id)
    )


@router.post(
    "/{session_id}/end", response_model=SessionResponse, responses=error_responses(401, 403, 404, 422)
)
def end_session(
    session_id: SessionId, principal: PrincipalDep, table: TableDep, sqs: SQSDep, settings: SettingsDep
) -> SessionResponse:
    """End a session (an API key of its tenant, or the host's join token: the widget's End session);
    a recording already uploaded and waiting starts processing."""
    principal.require_session(session_id, role="host")
    session = create_session_service(table).end_session(
        tenant_id=principal.tenant_id, session_id=session_id, actor=principal.actor
    )
    create_pipeline_service(table, sqs, settings).session_ended(session)
    # On first use: the signaling service and its frame models are ~6 ms of the cold import.
    from agentflow.signaling.service import announce_session_ended

    try:
        announce_session_ended(
            table,
            management_url=settings.signaling_management_url,
            tenant_id=session["tenant_id"],
            session_id=session_id,
        )
    except (BotoCoreError, ClientError):
        # The session is ended either way; a page that missed the push learns it on its next
        # GET (status ended) or join (session-ended). Logged, not raised: ending is what was asked.
        logger.exception("could not push session-ended", session_id=session_id)
    return to_response(table, session)


@router.delete("/{session_id}", response_model=SessionResponse, responses=error_responses(401, 404, 422))
def delete_session(session_id: SessionId, tenant: TenantDep, table: TableDep) -> SessionResponse:
    """Soft-delete a session: gone from the API, kept in the table with its audit fields."""
    session = create_session_service(table).delete_session(
        tenant_id=tenant.tenant_id, session_id=session_id, actor=tenant.actor
    )
    return to_response(table, session)
