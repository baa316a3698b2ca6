"""Fixtures for the API tests: one local stack per module (moto + template resources + uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service

from .support import Caller


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The real API on 127.0.0.1 over moto; no pollers (these tests drive no pipeline stage)."""
    with LocalStack(pollers=False) as running:
        yield running


@pytest.fixture(scope="module")
def ddb(stack: LocalStack) -> Any:
    """The stack's DynamoDB table, to look behind the API."""
    return table(stack.ref("Table"))


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    """A plain HTTP client for the stack's API."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


@pytest.fixture
def alice(ddb: Any, http: httpx.Client) -> Caller:
    """A fresh tenant per test, so that lists and counts start empty."""
    return Caller(create_tenant_service(ddb).create_tenant("alice"), http)


@pytest.fixture
def bob(ddb: Any, http: httpx.Client) -> Caller:
    """A second fresh tenant."""
    return Caller(create_tenant_service(ddb).create_tenant("bob"), http)
