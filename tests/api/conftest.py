"""Fixtures for the API tests: two tenants (the stack, ddb and http come from tests/stack_fixtures.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agentflow.services.tenants import create_tenant_service

from .support import Caller


@pytest.fixture
def alice(ddb: Any, http: httpx.Client) -> Caller:
    """A fresh tenant per test, so that lists and counts start empty."""
    return Caller(create_tenant_service(ddb).create_tenant("alice"), http)


@pytest.fixture
def bob(ddb: Any, http: httpx.Client) -> Caller:
    """A second fresh tenant."""
    return Caller(create_tenant_service(ddb).create_tenant("bob"), http)
