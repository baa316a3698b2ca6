"""``/v1/sessions/{id}/ice-servers``: the STUN/TURN servers a participant's page uses for the call."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import boto3
from fastapi import APIRouter, Depends

from agentflow.api.deps import PrincipalDep, SettingsDep, TableDep
from agentflow.api.routes.sessions import SessionId
from agentflow.aws.clients import client
from agentflow.errors import ForbiddenError
from agentflow.schemas.calls import IceServersResponse, IceServerView
from agentflow.schemas.errors import error_responses
from agentflow.services.sessions import create_session_service
from agentflow.signaling.ice import configured_ice_servers, kvs_ice_servers, pick_channel, split_list

router = APIRouter(prefix="/v1/sessions", tags=["calls"])


@lru_cache(maxsize=16)
def _signaling_client(endpoint_url: str) -> Any:
    """A ``kinesis-video-signaling`` client for one channel's HTTPS endpoint (cached per endpoint)."""
    return boto3.session.Session().client("kinesis-video-signaling", endpoint_url=endpoint_url)


@dataclass(frozen=True)
class KvsClients:
    """The Kinesis Video Streams clients the route needs (tests put stubbed ones in)."""

    kinesisvideo: Any
    signaling: Any  # endpoint URL -> kinesis-video-signaling client


def get_kvs_clients() -> KvsClients:
    """The process-wide KVS clients (created only when a channel pool is configured and asked)."""
    return KvsClients(kinesisvideo=client("kinesisvideo"), signaling=_signaling_client)


KvsDep = Annotated[KvsClients, Depends(get_kvs_clients)]


@router.get(
    "/{session_id}/ice-servers",
    response_model=IceServersResponse,
    response_model_exclude_none=True,
    responses=error_responses(401, 403, 404, 422),
)
def ice_servers(
    session_id: SessionId, principal: PrincipalDep, table: TableDep, settings: SettingsDep, kvs: KvsDep
) -> IceServersResponse:
    """ICE servers for this participant (a join token of this session only)."""
    if principal.kind != "join_token" or principal.role is None:
        raise ForbiddenError("This route takes a participant's join token")
    principal.require_session(session_id)
    create_session_service(table).get_session(tenant_id=principal.tenant_id, session_id=session_id)
    channels = split_list(settings.kvs_signaling_channel_arns)
    if channels:
        config = kvs_ice_servers(
            kvs.kinesisvideo,
            kvs.signaling,
            channel_arn=pick_channel(channels, session_id),
            client_id=f"{session_id}-{principal.role}",
            region=settings.aws_region,
        )
    else:
        config = configured_ice_servers(
            stun_urls=split_list(settings.stun_urls),
            turn_urls=split_list(settings.turn_urls),
            turn_secret=settings.turn_shared_secret,
            session_id=session_id,
            role=principal.role,
            ttl_seconds=settings.turn_credential_ttl_seconds,
        )
    return IceServersResponse(
        ice_servers=[
            IceServerView(urls=s.urls, username=s.username, credential=s.credential)
            for s in config.ice_servers
        ],
        ttl_seconds=config.ttl_seconds,
    )
