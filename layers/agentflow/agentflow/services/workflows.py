"""Tenant workflows: validated ``WorkflowSpec``s stored per tenant; soft delete like everything.

Items: pk ``TENANT#{tid}``, sk ``WORKFLOW#{wid}``. The spec is stored as JSON text (``spec_json``):
DynamoDB's boto3 layer refuses Python floats, and specs carry float parameters. A stored spec's
``id`` is its workflow id, so a summary's ``workflow_id`` names the stored workflow it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict

from agentflow.aws import keys, records
from agentflow.aws.items import WorkflowItem
from agentflow.errors import NotFoundError
from agentflow.ids import new_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def workflow_key(tenant_id: str, workflow_id: str) -> tuple[str, str]:
    """The (pk, sk) of a workflow."""
    return keys.tenant_pk(tenant_id), keys.workflow(workflow_id)


class Workflow(TypedDict):
    """A stored workflow as callers see it: the item without its keys, the spec parsed back into a dict."""

    entity: str
    tenant_id: str
    workflow_id: str
    name: str
    version: int
    status: str
    spec: dict[str, Any]
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    deleted_at: NotRequired[str]
    deleted_by: NotRequired[str]


def _view(item: WorkflowItem) -> Workflow:
    view: Workflow = {
        "entity": item["entity"],
        "tenant_id": item["tenant_id"],
        "workflow_id": item["workflow_id"],
        "name": item["name"],
        "version": int(item["version"]),
        "status": item["status"],
        "spec": json.loads(item["spec_json"]),
        "created_at": item["created_at"],
        "created_by": item["created_by"],
        "updated_at": item["updated_at"],
        "updated_by": item["updated_by"],
    }
    if "deleted_at" in item:
        view["deleted_at"] = item["deleted_at"]
    if "deleted_by" in item:
        view["deleted_by"] = item["deleted_by"]
    return view


class CreateWorkflow(Protocol):
    """Validate ``spec`` and store it under a new workflow id."""

    def __call__(self, spec: dict[str, Any], tenant_id: str, *, actor: str) -> Workflow: ...


class GetWorkflow(Protocol):
    """A live workflow of ``tenant_id``; ``NotFoundError`` if absent, deleted or another tenant's."""

    def __call__(self, *, tenant_id: str, workflow_id: str) -> Workflow: ...


class ListWorkflows(Protocol):
    """The tenant's live workflows, newest first, and the key to continue from."""

    def __call__(
        self, tenant_id: str, *, limit: int = ..., cursor: records.Cursor | None = ...
    ) -> tuple[list[Workflow], records.Cursor | None]: ...


class DeleteWorkflow(Protocol):
    """Soft-delete: the item stays, marked DELETED with ``deleted_at``/``deleted_by``."""

    def __call__(self, *, tenant_id: str, workflow_id: str, actor: str) -> Workflow: ...


@dataclass(frozen=True)
class WorkflowService:
    """Operations on one tenant's workflows."""

    create_workflow: CreateWorkflow
    get_workflow: GetWorkflow
    list_workflows: ListWorkflows
    delete_workflow: DeleteWorkflow


def create_workflow_service(table: Table) -> WorkflowService:
    """Build the workflow operations over ``table``."""
    from agentflow.workflows.spec import validate_spec

    def create_workflow(spec: dict[str, Any], tenant_id: str, *, actor: str) -> Workflow:
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
            kind=WorkflowItem,
        )
        return _view(item)

    def get_workflow(*, tenant_id: str, workflow_id: str) -> Workflow:
        """Return a live workflow of ``tenant_id`` (with ``spec`` as a dict) or raise ``NotFoundError``."""
        item = records.get_live(table, *workflow_key(tenant_id, workflow_id), kind=WorkflowItem)
        if item is None:
            raise NotFoundError.of("Workflow", workflow_id)
        return _view(item)

    def list_workflows(
        tenant_id: str, *, limit: int = 50, cursor: records.Cursor | None = None
    ) -> tuple[list[Workflow], records.Cursor | None]:
        """The tenant's live workflows, newest first, and the key to continue from."""
        items, next_key = records.query_live(
            table,
            keys.tenant_pk(tenant_id),
            sk_prefix=keys.WORKFLOW,
            limit=limit,
            cursor=cursor,
            kind=WorkflowItem,
        )
        return [_view(i) for i in items], next_key

    def delete_workflow(*, tenant_id: str, workflow_id: str, actor: str) -> Workflow:
        """Soft-delete: the item stays, marked DELETED with ``deleted_at``/``deleted_by``."""
        get_workflow(tenant_id=tenant_id, workflow_id=workflow_id)
        deleted = records.soft_delete(
            table, *workflow_key(tenant_id, workflow_id), actor=actor, kind=WorkflowItem
        )
        return _view(deleted)

    return WorkflowService(
        create_workflow=create_workflow,
        get_workflow=get_workflow,
        list_workflows=list_workflows,
        delete_workflow=delete_workflow,
    )
