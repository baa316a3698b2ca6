"""Helpers for the signaling tests: sessions with join tokens, a recording fake of @connections."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from agentflow.services.tenants import NewTenant
from agentflow.signaling.connections import Connections

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "signaling"


@dataclass(frozen=True)
class CallSession:
    """A session created through the API, with each participant's join token."""

    session_id: str
    tenant: NewTenant
    host_token: str
    client_token: str

    def token(self, role: str) -> str:
        """The join token of ``role``."""
        return self.host_token if role == "host" else self.client_token


def create_session(http: httpx.Client, tenant: NewTenant, **extra: Any) -> CallSession:
    """``POST /v1/sessions`` as ``tenant``; the tokens come from the widget URLs."""
    body = {"host": {"name": "Dr. Ada Host"}, "client": {"name": "Bob Client"}, **extra}
    response = http.post("/v1/sessions", json=body, headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert response.status_code == 201, response.text
    created = response.json()
    tokens = {role: httpx.URL(url).params["token"] for role, url in created["widget_urls"].items()}
    return CallSession(created["session_id"], tenant, tokens["host"], tokens["client"])


def sample_event(name: str, **values: str) -> dict[str, Any]:
    """A sample event of events/signaling with its ``{{PLACEHOLDERS}}`` filled in."""
    text = (EVENTS / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {name}"
    event: dict[str, Any] = json.loads(text)
    return event


@dataclass
class FakeConnections:
    """``@connections`` for handler tests: records posts to open connections, 410s the others."""

    open: set[str] = field(default_factory=set)
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """Every frame posted to ``connection_id``, oldest first."""
        return [frame for cid, frame in self.posts if cid == connection_id]

    def types(self, connection_id: str) -> list[str]:
        """The ``type`` of every frame posted to ``connection_id``."""
        return [str(f["type"]) for f in self.frames(connection_id)]

    def api(self) -> Connections:
        """The service-facing operations."""

        def post(connection_id: str, data: bytes) -> bool:
            if connection_id not in self.open:
                return False
            self.posts.append((connection_id, json.loads(data)))
            return True

        def close(connection_id: str) -> None:
            self.closed.append(connection_id)
            self.open.discard(connection_id)

        return Connections(post=post, close=close)
