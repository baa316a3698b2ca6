"""Schemathesis over the WHOLE OpenAPI spec (every operation, not only the session routes).

Every generated request, valid or not, authenticated or not, gets a documented status, never a
5xx, with a body and content type that match the spec. Bounded: 20 examples per operation,
derandomized (the same requests on every run), against the real API over moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from agentflow.api.app import create_app
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Not negative_data_rejection: it wants unknown query parameters refused, and HTTP APIs ignore them
# (what it found once, 0 taken for false and "" for a URL, is pinned in tests/api/test_errors.py);
# and not the stateful checks (ignored_auth is covered, route by route, in test_auth_matrix).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(create_app().openapi())


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The real API on 127.0.0.1 over moto; no pollers."""
    with LocalStack(pollers=False) as running:
        yield running


@pytest.fixture(scope="module")
def fuzz_key(stack: LocalStack) -> str:
    """A tenant of its own for the fuzzer."""
    return create_tenant_service(table(stack.ref("Table"))).create_tenant("fuzz-all").api_key


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_no_operation_answers_5xx_or_off_spec(case: Any, stack: LocalStack, fuzz_key: str) -> None:
    # GIVEN a valid API key (the generated case may still override or drop the header)
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    # WHEN the generated request is sent  THEN no check fails
    case.call_and_validate(base_url=stack.api_url, headers=headers, checks=CHECKS, timeout=30)
