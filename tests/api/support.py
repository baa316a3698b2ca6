"""Helpers for the API tests: an HTTP client per tenant and sample session bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from agentflow.ids import new_id
from agentflow.services.tenants import NewTenant

UNAUTHORIZED = {"detail": "Invalid API key or token"}


def session_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /v1/sessions`` body."""
    body: dict[str, Any] = {
        "host": {"name": "Dr. Ada Host", "external_user_id": "u-1"},
        "client": {"name": "Bob Client"},
        "auto_start_recording": True,
    }
    body.update(overrides)
    return body


def bearer(credential: str) -> dict[str, str]:
    """The Authorization header for an API key or a join token."""
    return {"Authorization": f"Bearer {credential}"}


def token_of(widget_url: str) -> str:
    """The join token carried by a widget URL (``…/widget/<session>?token=<jwt>``)."""
    return httpx.URL(widget_url).params["token"]


def unknown_session_id() -> str:
    """A well-formed session id that no tenant has."""
    return new_id("ses")


@dataclass
class Caller:
    """One tenant's view of the API over real HTTP."""

    tenant: NewTenant
    http: httpx.Client

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.tenant.api_key)

    def create(self, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return self.http.post("/v1/sessions", json=body or session_body(), headers={**self.auth, **headers})

    def create_ok(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.create(body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def get(self, session_id: str) -> httpx.Response:
        return self.http.get(f"/v1/sessions/{session_id}", headers=self.auth)

    def end(self, session_id: str) -> httpx.Response:
        return self.http.post(f"/v1/sessions/{session_id}/end", headers=self.auth)

    def delete(self, session_id: str) -> httpx.Response:
        return self.http.delete(f"/v1/sessions/{session_id}", headers=self.auth)

    def list(self, **params: Any) -> httpx.Response:
        return self.http.get("/v1/sessions", params=params, headers=self.auth)
