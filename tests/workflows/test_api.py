"""``/v1/workflows`` over real HTTP on the local stack (moto + template resources + uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from agentflow.services.workflows import create_workflow_service
from agentflow.workflows import default_spec, validate_spec


@pytest.fixture
def api(stack: LocalStack, ddb: Any) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as a fresh tenant."""
    tenant = create_tenant_service(ddb).create_tenant("t")
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as client:
        yield client


def spec_body(**changes: Any) -> dict[str, Any]:
    body = default_spec().model_dump()
    body.pop("id")
    body["name"] = "two retries"
    body["routes"][0]["params"]["max_retries"] = 2
    body.update(changes)
    return body


def test_create_get_list_and_soft_delete(api: httpx.Client, ddb: Any) -> None:
    # GIVEN a tenant  WHEN it posts a valid spec
    created = api.post("/v1/workflows", json=spec_body())
    # THEN 201 with a new workflow id that is also the stored spec's id
    assert created.status_code == 201, created.text
    body = created.json()
    workflow_id = body["workflow_id"]
    assert workflow_id.startswith("wfl_") and body["spec"]["id"] == workflow_id
    assert (body["name"], body["version"], body["status"]) == ("two retries", 1, "ACTIVE")
    assert body["spec"]["routes"][0]["params"]["max_retries"] == 2
    # AND the stored spec is valid as it stands (what the summarize stage will run)
    assert validate_spec(body["spec"]).id == workflow_id
    # AND GET returns it, and the list holds it
    assert api.get(f"/v1/workflows/{workflow_id}").json() == body
    listed = api.get("/v1/workflows").json()
    assert [w["workflow_id"] for w in listed["items"]] == [workflow_id] and listed["next_cursor"] is None
    # WHEN it is deleted
    deleted = api.delete(f"/v1/workflows/{workflow_id}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "DELETED"
    # THEN it is gone from the API
    assert api.get(f"/v1/workflows/{workflow_id}").status_code == 404
    assert api.get("/v1/workflows").json()["items"] == []
    assert api.delete(f"/v1/workflows/{workflow_id}").status_code == 404
    # AND kept in the table, marked, with who deleted it
    item = ddb.get_item(Key={"pk": f"TENANT#{_tenant_of(api, ddb)}", "sk": f"WORKFLOW#{workflow_id}"})["Item"]
    assert item["status"] == "DELETED" and item["deleted_by"].startswith("key:") and item["deleted_at"]


def _tenant_of(api: httpx.Client, ddb: Any) -> str:
    key = api.headers["Authorization"].split(" ", 1)[1]
    return str(create_tenant_service(ddb).authenticate(key)["tenant_id"])


def test_the_summarize_stage_reads_the_spec_back(api: httpx.Client, ddb: Any) -> None:
    workflow_id = api.post("/v1/workflows", json=spec_body()).json()["workflow_id"]
    stored = create_workflow_service(ddb).get_workflow(
        tenant_id=_tenant_of(api, ddb), workflow_id=workflow_id
    )
    spec = stored["spec"]
    assert spec["routes"][0]["params"]["max_retries"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nodes": [{"id": "prepare", "type": "nope"}]}, "node 'prepare' has unknown type 'nope'"),
        ({"start": "missing"}, "start node 'missing' is not a node"),
    ],
)
def test_invalid_spec_is_a_422_naming_the_node(
    api: httpx.Client, change: dict[str, Any], message: str
) -> None:
    response = api.post("/v1/workflows", json=spec_body(**change))
    assert response.status_code == 422
    assert message in response.json()["detail"]["message"]


def test_edge_error_is_named_over_http(api: httpx.Client) -> None:
    body = spec_body()
    body["edges"][2]["target"] = "composer"
    response = api.post("/v1/workflows", json=body)
    assert response.status_code == 422
    assert "edge 'merge' -> 'composer'" in response.json()["detail"]["message"]


def test_other_tenants_workflows_are_invisible(stack: LocalStack, ddb: Any, api: httpx.Client) -> None:
    workflow_id = api.post("/v1/workflows", json=spec_body()).json()["workflow_id"]
    other = create_tenant_service(ddb).create_tenant("other")
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {other.api_key}"}, timeout=30
    ) as client:
        assert client.get(f"/v1/workflows/{workflow_id}").status_code == 404
        assert client.delete(f"/v1/workflows/{workflow_id}").status_code == 404
        assert client.get("/v1/workflows").json()["items"] == []


def test_requires_an_api_key(stack: LocalStack) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        assert client.get("/v1/workflows").status_code == 401
        assert client.post("/v1/workflows", json=spec_body()).status_code == 401


def test_list_pages_newest_first(api: httpx.Client) -> None:
    ids = [api.post("/v1/workflows", json=spec_body(name=f"w{i}")).json()["workflow_id"] for i in range(3)]
    first = api.get("/v1/workflows", params={"limit": 2}).json()
    assert [w["workflow_id"] for w in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = api.get("/v1/workflows", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [w["workflow_id"] for w in second["items"]] == [ids[0]]
    assert api.get("/v1/workflows", params={"cursor": "garbage"}).status_code == 422


def test_session_names_an_existing_workflow_of_its_tenant(
    api: httpx.Client, stack: LocalStack, ddb: Any
) -> None:
    workflow_id = api.post("/v1/workflows", json=spec_body()).json()["workflow_id"]
    people = {"host": {"name": "Ana"}, "client": {"name": "Ben"}}
    # a workflow of the caller's tenant is accepted
    created = api.post("/v1/sessions", json={**people, "workflow_id": workflow_id})
    assert created.status_code == 201 and created.json()["workflow_id"] == workflow_id
    # an unknown id, or another tenant's, fails the create with a reason (not the pipeline later)
    other = create_tenant_service(ddb).create_tenant("other")
    theirs = httpx.post(
        f"{stack.api_url}/v1/workflows",
        json=spec_body(),
        headers={"Authorization": f"Bearer {other.api_key}"},
    ).json()["workflow_id"]
    for unknown in ("wfl_doesnotexist", theirs):
        refused = api.post("/v1/sessions", json={**people, "workflow_id": unknown})
        assert refused.status_code == 422
        assert refused.json()["detail"]["field"] == "workflow_id"
