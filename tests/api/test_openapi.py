"""The OpenAPI spec: served at /openapi.json, committed at docs/openapi.json (and kept fresh)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from agentflow import cli
from agentflow.api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"


def test_the_served_spec_is_the_apps_spec(http: httpx.Client) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(create_app().openapi()))


def test_committed_spec_is_up_to_date(tmp_path: Path) -> None:
    # GIVEN the spec as `agentflow openapi --out` writes it today
    fresh = tmp_path / "openapi.json"
    assert cli.main(["openapi", "--out", str(fresh)]) == 0
    # THEN docs/openapi.json is byte-for-byte the same
    assert COMMITTED.read_text() == fresh.read_text(), (
        "docs/openapi.json is stale: run `.venv/bin/agentflow openapi --out docs/openapi.json`"
    )


def test_session_routes_document_auth_and_error_shapes() -> None:
    spec = json.loads(COMMITTED.read_text())
    # Bearer authentication is declared, and every session operation requires it
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["HTTPBearer"]["description"],
    }
    expected = {
        ("/v1/sessions", "post"): {"201", "400", "401", "409", "422"},
        ("/v1/sessions", "get"): {"200", "401", "422"},
        ("/v1/sessions/{session_id}", "get"): {"200", "401", "404", "422"},
        ("/v1/sessions/{session_id}/end", "post"): {"200", "401", "403", "404", "422"},
        ("/v1/sessions/{session_id}", "delete"): {"200", "401", "404", "422"},
    }
    for (path, method), codes in expected.items():
        operation = spec["paths"][path][method]
        assert set(operation["responses"]) == codes, (path, method)
        assert operation["security"] == [{"HTTPBearer": []}]
        unprocessable = operation["responses"]["422"]["content"]["application/json"]["schema"]
        assert unprocessable == {"$ref": "#/components/schemas/ValidationErrorResponse"}
    # The 422 body is ours ({detail: {field, message}, errors}), not FastAPI's default
    assert set(spec["components"]["schemas"]["ValidationErrorResponse"]["properties"]) == {"detail", "errors"}
    create = spec["paths"]["/v1/sessions"]["post"]
    assert any(p["name"] == "idempotency-key" and p["in"] == "header" for p in create["parameters"])
