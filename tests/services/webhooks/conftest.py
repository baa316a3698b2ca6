"""Fixtures for the webhook tests: a real HTTP receiver on 127.0.0.1 and the real local stack."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service

from tests.services.webhooks.support import STACK_ENVIRONMENT, Receiver, World, handler_class


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A fresh receiver per test (its own port, so its own webhook endpoint)."""
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class(rec, threading.Lock()))
    server.daemon_threads = True
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """moto + the template's resources + the API + the webhooks function's poller."""
    with LocalStack(functions={"webhooks"}, environment=STACK_ENVIRONMENT) as running:
        yield running


@pytest.fixture
def world(stack: LocalStack) -> World:
    """A new tenant on the module's stack."""
    return World(stack, create_tenant_service(table(stack.ref("Table"))).create_tenant("t"))
