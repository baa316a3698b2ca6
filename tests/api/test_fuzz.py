"""Schemathesis against the OpenAPI spec of the session routes, with a valid API key.

Every generated request, valid or not, must get a documented status, never a 5xx, with a body
that matches the spec. Bounded: a few dozen examples per operation (about half a minute on this machine).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from agentflow.api.app import create_app
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

SESSION_ROUTES = r"^/v1/sessions(/\{session_id\}(/end)?)?$"
# Not negative_data_rejection: it wants unknown query parameters refused, and HTTP APIs ignore
# them. What it found once (0 taken for false, "" for a URL) is pinned in test_errors.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_key(stack: LocalStack) -> str:
    """A tenant of its own, so the fuzzer's sessions do not mix with other tests'."""
    return create_tenant_service(table(stack.ref("Table"))).create_tenant("fuzz").api_key


# The spec the app serves at /openapi.json (test_openapi checks the two are equal), narrowed to
# the session routes. schemathesis' lazy fixture loader does not work with pytest 9, so the
# schema is built at import and the requests go to the running stack.
schema = schemathesis.openapi.from_dict(create_app().openapi()).include(path_regex=SESSION_ROUTES)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_session_routes_never_answer_5xx(case: Any, stack: LocalStack, fuzz_key: str) -> None:
    # GIVEN a valid API key (the generated case may still override the Authorization header)
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    # WHEN the generated request is sent  THEN no check fails
    case.call_and_validate(base_url=stack.api_url, headers=headers, checks=CHECKS, timeout=30)
