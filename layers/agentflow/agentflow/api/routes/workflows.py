"""``/v1/workflows``: a tenant's summary workflows (validated ``WorkflowSpec``s); soft delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel

from agentflow.api.deps import TableDep, TenantDep
from agentflow.api.pagination import decode_cursor, encode_cursor
from agentflow.aws import keys
from agentflow.schemas.errors import error_responses
from agentflow.services.workflows import Workflow, create_workflow_service

router = APIRouter(prefix="/v1/workflows", tags=["workflows"])

_EXAMPLE = {
    "name": "Summary with two retries",
    "version": 1,
    "start": "prepare",
    "nodes": [
        {"id": "prepare", "type": "prepare"},
        {"id": "extract", "type": "extract"},
        {"id": "merge", "type": "merge"},
        {"id": "compose", "type": "compose"},
        {"id": "validate", "type": "validate", "params": {"require_owners": True}},
        {"id": "fallback", "type": "fallback"},
    ],
    "edges": [
        {"source": "prepare", "target": "extract"},
        {"source": "extract", "target": "merge"},
        {"source": "merge", "target": "compose"},
        {"source": "compose", "target": "validate"},
        {"source": "fallback", "target": "end"},
    ],
    "routes": [
        {
            "source": "validate",
            "router": "grounding",
            "params": {"max_retries": 2},
            "targets": {"pass": "end", "retry": "extract", "fallback": "fallback"},
        }
    ],
}


class WorkflowResponse(BaseModel):
    """A stored workflow."""

    workflow_id: str
    name: str
    version: int
    status: str
    spec: dict[str, Any]
    created_at: str
    updated_at: str


class WorkflowPage(BaseModel):
    """One page of workflows, newest first."""

    items: list[WorkflowResponse]
    next_cursor: str | None = None


def _response(item: Workflow) -> WorkflowResponse:
    return WorkflowResponse.model_validate(
        {k: v for k, v in item.items() if k in WorkflowResponse.model_fields}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkflowResponse,
    responses=error_responses(400, 401, 422),
)
def create_workflow(
    tenant: TenantDep,
    table: TableDep,
    spec: Annotated[dict[str, Any], Body(openapi_examples={"default": {"value": _EXAMPLE}})],
) -> WorkflowResponse:
    """Validate a ``WorkflowSpec`` and store it; use its ``workflow_id`` on session create.

    The ``id`` field is assigned (the new workflow id). A 422 names the offending node or edge.
    """
    return _response(
        create_workflow_service(table).create_workflow(spec, tenant.tenant_id, actor=tenant.actor)
    )


@router.get("", response_model=WorkflowPage, responses=error_responses(401, 422))
def list_workflows(
    tenant: TenantDep,
    table: TableDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> WorkflowPage:
    """The tenant's workflows, newest first."""
    items, next_key = create_workflow_service(table).list_workflows(
        tenant.tenant_id,
        limit=limit,
        cursor=decode_cursor(cursor, tenant_id=tenant.tenant_id, sk_prefix=keys.WORKFLOW),
    )
    return WorkflowPage(items=[_response(i) for i in items], next_cursor=encode_cursor(next_key))


@router.get("/{workflow_id}", response_model=WorkflowResponse, responses=error_responses(401, 404, 422))
def get_workflow(workflow_id: str, tenant: TenantDep, table: TableDep) -> WorkflowResponse:
    """One workflow of the tenant."""
    return _response(
        create_workflow_service(table).get_workflow(tenant_id=tenant.tenant_id, workflow_id=workflow_id)
    )


@router.delete("/{workflow_id}", response_model=WorkflowResponse, responses=error_responses(401, 404, 422))
def delete_workflow(workflow_id: str, tenant: TenantDep, table: TableDep) -> WorkflowResponse:
    """Soft-delete a workflow: gone from the API, kept in the table with its audit fields."""
    return _response(
        create_workflow_service(table).delete_workflow(
            tenant_id=tenant.tenant_id, workflow_id=workflow_id, actor=tenant.actor
        )
    )
