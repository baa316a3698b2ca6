"""Fixtures of the tests that talk to the API and the WebSocket API of one local stack per module.

Registered for every test by ``pytest_plugins`` in tests/conftest.py (the API, signaling and
workflow API tests use them); a test area that needs another stack (pollers, other settings)
defines its own ``stack``, which takes precedence, and ``ddb`` and ``http`` then use that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The real API and the local WebSocket API on 127.0.0.1 over moto; no pollers (no pipeline
    stage runs, webhooks are only recorded)."""
    with LocalStack(pollers=False) as running:
        yield running


@pytest.fixture(scope="module")
def ddb(stack: LocalStack) -> Any:
    """The stack's DynamoDB table, to look behind the API."""
    return table(stack.ref("Table"))


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    """A plain HTTP client of the stack's API."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client
