"""Tenant workflows: validated ``WorkflowSpec``s stored per tenant; soft delete like everything.

Items: pk ``TENANT#{tid}``, sk ``WORKFLOW#{wid}``. The spec is stored as JSON text (``spec_json``):
DynamoDB's boto3 layer refuses Python floats, and specs carry float parameters. A stored spec's
``id`` is its workflow id, so a summary's ``workflow_id`` names the stored workflow it came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agentflow.aws import keys, records
from agentflow.errors import NotFoundError
from agentflow.ids import new_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def workflow_key(tenant_id: str, workflow_id: str) -> tuple[str, str]:
    """The (pk, sk) of a workflow."""
    return keys.tenant_pk(tenant_id), keys.workflow(workflow_id)


def _view(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item as callers see it: the spec parsed back into a dict."""
    view = {k: v for k, v in item.items() if k not in ("pk", "sk", "spec_json")}
    view["spec"] = json.loads(item["spec_json"])
    view["version"] = int(item["version"])
    return view


class CreateWorkflow(Protocol):
    """Validate ``spec`` and store it under a new workflow id."""

    def __call__(self, spec: dict[str, Any], tenant_id: str, *, actor: str) -> dict[str, Any]: ...


class ListWorkflows(Protocol):
    """The tenant's live workflows, newest first, and the key to continue from."""

    def __call__(
        self, tenant_id: str, *, limit: int = ..., cursor: dict[str, Any] | None = ...
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...


class DeleteWorkflow(Protocol):
    """Soft-delete: the item stays, marked DELETED with ``deleted_at``/``deleted_by``."""

    def __call__(self, workflow_id: str, tenant_id: str, *, actor: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WorkflowService:
    """Operations on one tenant's workflows."""

    create_workflow: CreateWorkflow
    get_workflow: Callable[[str, str], dict[str, Any]]
    list_workflows: ListWorkflows
    delete_workflow: DeleteWorkflow


def create_workflow_service(table: Table) -> WorkflowService:
    """Build the workflow operations over ``table``."""
    from agentflow.workflows.spec import validate_spec

    def create_workflow(spec: dict[str, Any], tenant_id: str, *, actor: str) -> dict[str, Any]:
        """Validate ``spec`` and store it under a new workflow id.

        Raises:
            ValidationError: the spec is invalid (the message names the node or edge).
        """
        workflow_id = new_id("wfl")
        checked = validate_spec({**spec, "id": workflow_id})
        item = records.put_new(
            table,
            {
                "pk": keys.tenant_pk(tenant_id),
                "sk": keys.workflow(workflow_id),
                "entity": "workflow",
                "tenant_id": tenant_id,
                "workflow_id": workflow_id,
                "name": checked.name,
                "version": checked.version,
                "status": "ACTIVE",
                "spec_json": checked.model_dump_json(),
            },
            actor=actor,
        )
        return _view(item)

    def get_workflow(workflow_id: str, tenant_id: str) -> dict[str, Any]:
        """Return a live workflow of ``tenant_id`` (with ``spec`` as a dict) or raise ``NotFoundError``."""
        item = records.get_live(table, *workflow_key(tenant_id, workflow_id))
        if item is None:
            raise NotFoundError.of("Workflow", workflow_id)
        return _view(item)

    def list_workflows(
        tenant_id: str, *, limit: int = 50, cursor: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The tenant's live workflows, newest first, and the key to continue from."""
        items, next_key = records.query_live(
            table, keys.tenant_pk(tenant_id), sk_prefix=keys.WORKFLOW, limit=limit, cursor=cursor
        )
        return [_view(i) for i in items], next_key

    def delete_workflow(workflow_id: str, tenant_id: str, *, actor: str) -> dict[str, Any]:
        """Soft-delete: the item stays, marked DELETED with ``deleted_at``/``deleted_by``."""
        get_workflow(workflow_id, tenant_id)
        return _view(records.soft_delete(table, *workflow_key(tenant_id, workflow_id), actor=actor))

    return WorkflowService(
        create_workflow=create_workflow,
        get_workflow=get_workflow,
        list_workflows=list_workflows,
        delete_workflow=delete_workflow,
    )
