"""Fixtures for the signaling tests: one local stack (moto, the API, the WebSocket gateway) per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import NewTenant, create_tenant_service

from .support import CallSession, create_session


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The API and the local WebSocket API over moto; no pollers (webhooks are only recorded)."""
    with LocalStack(pollers=False) as running:
        yield running


@pytest.fixture(scope="module")
def ddb(stack: LocalStack) -> Any:
    """The stack's table."""
    return table(stack.ref("Table"))


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    """A client of the stack's API."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


@pytest.fixture
def tenant(ddb: Any) -> NewTenant:
    """A fresh tenant per test."""
    return create_tenant_service(ddb).create_tenant("alice")


@pytest.fixture
def call(http: httpx.Client, tenant: NewTenant) -> CallSession:
    """A fresh session with its two join tokens."""
    return create_session(http, tenant)
