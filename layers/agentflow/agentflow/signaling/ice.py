"""ICE servers for a participant's peer connection (``GET /v1/sessions/{id}/ice-servers``).

In AWS, managed STUN/TURN comes from a Kinesis Video Streams signaling channel: its HTTPS endpoint
(``GetSignalingChannelEndpoint``), then ``GetIceServerConfig`` there, which hands out TURN URIs with
expiring credentials. Channels are a regional quota, so sessions share a small pool: a session maps
to one channel by a hash of its id. Without channels, the settings give STUN/TURN URLs, and a
coturn ``static-auth-secret`` gives time-limited credentials in coturn's REST style
(``username = "{expiry}:{session}:{role}"``, ``credential = base64(HMAC-SHA1(secret, username))``).
Locally there are none: loopback host candidates connect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IceServer:
    """An ``RTCIceServer`` dictionary."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class IceConfig:
    """What the route returns: the servers and how long their credentials last."""

    ice_servers: list[IceServer] = field(default_factory=list)
    ttl_seconds: int = 0


def split_list(value: str) -> list[str]:
    """A comma-separated setting as a list (blanks dropped)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def pick_channel(channel_arns: list[str], session_id: str) -> str:
    """The pool's channel for a session: stable for the session, spread evenly over sessions."""
    digest = hashlib.sha256(session_id.encode()).digest()
    return channel_arns[int.from_bytes(digest[:8], "big") % len(channel_arns)]


def coturn_credentials(
    secret: str, *, session_id: str, role: str, ttl_seconds: int, now: float | None = None
) -> tuple[str, str]:
    """coturn REST API credentials (``use-auth-secret``): ``(username, credential)``.

    The username carries its expiry (epoch seconds); coturn recomputes the HMAC with its
    ``static-auth-secret`` and refuses it after then.
    """
    expiry = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expiry}:{session_id}:{role}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def kvs_ice_servers(
    kinesisvideo: Any,
    signaling_client: Callable[[str], Any],
    *,
    channel_arn: str,
    client_id: str,
    region: str,
) -> IceConfig:
    """Managed STUN/TURN of one KVS signaling channel.

    Args:
        kinesisvideo: A ``kinesisvideo`` client.
        signaling_client: Makes a ``kinesis-video-signaling`` client for the channel's HTTPS endpoint.
        channel_arn: The channel.
        client_id: Unique per viewer of the channel (session and role).
        region: For the channel's STUN URL.
    """
    endpoints = kinesisvideo.get_signaling_channel_endpoint(
        ChannelARN=channel_arn,
        SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS"], "Role": "VIEWER"},
    )["ResourceEndpointList"]
    https = next(e["ResourceEndpoint"] for e in endpoints if e["Protocol"] == "HTTPS")
    answer = signaling_client(https).get_ice_server_config(
        ChannelARN=channel_arn, ClientId=client_id, Service="TURN"
    )
    servers = [IceServer(urls=[f"stun:stun.kinesisvideo.{region}.amazonaws.com:443"])]
    ttls: list[int] = []
    for server in answer.get("IceServerList", []):
        servers.append(
            IceServer(urls=list(server["Uris"]), username=server["Username"], credential=server["Password"])
        )
        ttls.append(int(server["Ttl"]))
    return IceConfig(ice_servers=servers, ttl_seconds=min(ttls) if ttls else 0)


def configured_ice_servers(
    *,
    stun_urls: list[str],
    turn_urls: list[str],
    turn_secret: str,
    session_id: str,
    role: str,
    ttl_seconds: int,
) -> IceConfig:
    """STUN/TURN from settings; TURN gets coturn credentials when a shared secret is set."""
    servers: list[IceServer] = []
    if stun_urls:
        servers.append(IceServer(urls=stun_urls))
    if turn_urls:
        if turn_secret:
            username, credential = coturn_credentials(
                turn_secret, session_id=session_id, role=role, ttl_seconds=ttl_seconds
            )
            servers.append(IceServer(urls=turn_urls, username=username, credential=credential))
        else:
            servers.append(IceServer(urls=turn_urls))
    return IceConfig(ice_servers=servers, ttl_seconds=ttl_seconds if servers else 0)
