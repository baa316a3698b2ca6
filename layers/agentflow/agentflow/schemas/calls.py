"""Call API bodies (docs/CALL.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IceServerView(BaseModel):
    """An ``RTCIceServer`` dictionary; TURN servers carry time-limited credentials."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServersResponse(BaseModel):
    """``GET /v1/sessions/{id}/ice-servers``: what ``new RTCPeerConnection({iceServers})`` takes."""

    ice_servers: list[IceServerView] = Field(default_factory=list)
    ttl_seconds: int = Field(description="How long the credentials last; ask again before then.")
