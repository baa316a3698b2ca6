"""Fixtures for the signaling tests: a tenant and a call session (the stack with its API and
WebSocket gateway, ddb and http come from tests/stack_fixtures.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agentflow.services.tenants import NewTenant, create_tenant_service

from .support import CallSession, create_session


@pytest.fixture
def tenant(ddb: Any) -> NewTenant:
    """A fresh tenant per test."""
    return create_tenant_service(ddb).create_tenant("alice")


@pytest.fixture
def call(http: httpx.Client, tenant: NewTenant) -> CallSession:
    """A fresh session with its two join tokens."""
    return create_session(http, tenant)
