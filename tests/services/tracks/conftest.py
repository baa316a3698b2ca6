"""Fixtures of the track tests: one local stack per module, a tenant, a session and its two pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from agentflow.aws.clients import table
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service

from tests.api.support import token_of
from tests.services.tracks.support import Browser


@dataclass
class Call:
    """A session of a fresh tenant, with the host's and the client's pages."""

    api: ApiClient
    tenant_id: str
    session: dict[str, Any]
    host: Browser
    client: Browser

    @property
    def session_id(self) -> str:
        return str(self.session["session_id"])


def new_call(stack: LocalStack, **fields: Any) -> Call:
    """A tenant, a session (Dana hosts, Eli joins) and both participants' pages."""
    tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("acme")
    api = ApiClient(api_url=stack.api_url, api_key=tenant.api_key)
    session = api.create_session(host={"name": "Dana"}, client={"name": "Eli"}, **fields)
    sid = session["session_id"]
    urls = session["widget_urls"]
    return Call(
        api=api,
        tenant_id=tenant.tenant_id,
        session=session,
        host=Browser(stack.api_url, sid, token_of(urls["host"])),
        client=Browser(stack.api_url, sid, token_of(urls["client"])),
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The API over moto, no pollers: these tests drive the stages themselves when they need one.

    A track that never completes is waited for 2 s after the session ends (600 s in production).
    """
    with LocalStack(pollers=False, environment={"TRACK_GRACE_SECONDS": "2"}) as running:
        yield running


@pytest.fixture
def call(stack: LocalStack) -> Call:
    return new_call(stack)
