"""Helpers for driving the local stack as an integrator and a browser would."""

from __future__ import annotations

from typing import Any

from agentflow.aws.clients import table
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from boto3.dynamodb.conditions import Key


def integrator_for(stack: LocalStack, name: str = "acme") -> ApiClient:
    """A new tenant on ``stack`` and an API client holding its key."""
    tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant(name)
    return ApiClient(api_url=stack.api_url, api_key=tenant.api_key)


def session_items(stack: LocalStack, session_id: str, prefix: str) -> list[dict[str, Any]]:
    """Every item of a session under gsi1 with the given sort-key prefix (deleted ones too)."""
    result = table(stack.ref("Table")).query(
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq(f"SESSION#{session_id}") & Key("gsi1sk").begins_with(prefix),
    )
    return list(result["Items"])


def events_of(stack: LocalStack, session_id: str, event_type: str) -> list[dict[str, Any]]:
    """The recorded webhook events of one type for a session."""
    return [e for e in session_items(stack, session_id, "EVENT#") if e["type"] == event_type]
