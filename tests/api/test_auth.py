"""API keys: created once by the CLI, stored as a hash, and every bad credential is the same 401."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from agentflow import cli
from agentflow.aws import records
from agentflow.services.tenants import create_tenant_service, hash_api_key

from .support import UNAUTHORIZED, Caller, bearer, token_of


def _all_items(ddb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    for _ in range(1000):  # bounded scan of a small test table
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise AssertionError("scan did not finish")


def test_cli_creates_a_tenant_prints_the_key_once_and_stores_only_its_hash(
    http: httpx.Client, ddb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the local stack's environment (AWS endpoint and TABLE_NAME are set)
    # WHEN an operator runs `agentflow tenants create acme`
    assert cli.main(["tenants", "create", "acme"]) == 0
    out = capsys.readouterr()
    created = json.loads(out.out)

    # THEN the key is printed once, with a warning that it is not shown again
    assert created["name"] == "acme"
    assert created["api_key"].startswith("af_")
    assert "not shown again" in out.err
    # AND it works
    assert http.get("/v1/sessions", headers=bearer(created["api_key"])).status_code == 200
    # AND the table holds its SHA-256 only, never the key itself
    everything = json.dumps(_all_items(ddb), default=str)
    assert created["api_key"] not in everything
    assert hash_api_key(created["api_key"]) in everything


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer af_"},
        {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
        {"Authorization": "af_not-even-a-scheme"},
        {"Authorization": "Bearer not-our-prefix"},
        {"Authorization": "Bearer af_" + "x" * 300},
        {"Authorization": "Bearer af_unknown-but-well-formed-key-0123456789abcdefghij"},
        {"Authorization": "Bearer a.b.c"},
    ],
    ids=[
        "missing",
        "empty",
        "scheme-only",
        "prefix-only",
        "basic",
        "no-scheme",
        "wrong-prefix",
        "too-long",
        "unknown",
        "junk-jwt",
    ],
)
def test_missing_malformed_or_unknown_credentials_are_401(
    http: httpx.Client, alice: Caller, headers: dict[str, str]
) -> None:
    # GIVEN a session that exists (so 401 is not a 404 in disguise)
    sid = alice.create_ok()["session_id"]
    # WHEN each route is called with the bad credential
    calls = [
        http.post("/v1/sessions", json={"host": {"name": "a"}, "client": {"name": "b"}}, headers=headers),
        http.get("/v1/sessions", headers=headers),
        http.get(f"/v1/sessions/{sid}", headers=headers),
        http.post(f"/v1/sessions/{sid}/end", headers=headers),
        http.delete(f"/v1/sessions/{sid}", headers=headers),
    ]
    # THEN every one is 401 with the seed's body and a Bearer challenge
    for response in calls:
        assert response.status_code == 401, (response.request.url, response.text)
        assert response.json() == UNAUTHORIZED
        assert response.headers["www-authenticate"] == "Bearer"
    # AND nothing happened to the session
    assert alice.get(sid).json()["status"] == "scheduled"


def test_bad_credentials_are_401_before_body_validation(http: httpx.Client) -> None:
    # An invalid body from an unauthenticated caller learns nothing about the schema.
    response = http.post("/v1/sessions", json={"nope": 1}, headers=bearer("af_unknown"))
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_revoked_key_is_401_and_the_key_record_stays(
    alice: Caller, ddb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a tenant with a second key, both working
    second_id, second = create_tenant_service(ddb).issue_key(alice.tenant.tenant_id, actor="test")
    assert alice.list().status_code == 200
    assert alice.http.get("/v1/sessions", headers=bearer(second)).status_code == 200

    # WHEN the operator revokes the first with `agentflow tenants revoke-key`
    assert cli.main(["tenants", "revoke-key", alice.tenant.tenant_id, alice.tenant.key_id]) == 0
    assert alice.tenant.key_id in capsys.readouterr().out

    # THEN the first key is 401 with the seed's body, the second still works
    revoked = alice.list()
    assert revoked.status_code == 401
    assert revoked.json() == UNAUTHORIZED
    assert alice.http.get("/v1/sessions", headers=bearer(second)).status_code == 200
    # AND the key's record stays in the table, marked REVOKED with who and when
    item = ddb.get_item(Key={"pk": f"APIKEY#{hash_api_key(alice.tenant.api_key)}", "sk": "APIKEY"})["Item"]
    assert item["status"] == "REVOKED"
    assert item["revoked_by"] == item["updated_by"] == "cli"
    assert item["revoked_at"] == item["updated_at"]
    assert item["key_id"] == alice.tenant.key_id
    assert second_id != alice.tenant.key_id


def test_revoking_another_tenants_key_fails_and_leaves_it_working(
    alice: Caller, bob: Caller, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN bob's key id is revoked under alice's tenant id
    code = cli.main(["tenants", "revoke-key", alice.tenant.tenant_id, bob.tenant.key_id])
    # THEN the command fails with a message, not a traceback, and bob's key still works
    assert code == 1
    assert f"API key {bob.tenant.key_id} not found" in capsys.readouterr().err
    assert bob.list().status_code == 200


def test_soft_deleted_key_and_soft_deleted_tenant_are_401(alice: Caller, bob: Caller, ddb: Any) -> None:
    # GIVEN alice's key soft-deleted, and bob's tenant soft-deleted (keys untouched)
    records.soft_delete(ddb, f"APIKEY#{hash_api_key(alice.tenant.api_key)}", "APIKEY", actor="test")
    records.soft_delete(ddb, records.tenant_pk(bob.tenant.tenant_id), "TENANT", actor="test")
    # THEN neither authenticates
    for caller in (alice, bob):
        response = caller.list()
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED


def test_join_tokens_cannot_use_api_key_routes(alice: Caller) -> None:
    # GIVEN a session and its host's join token
    created = alice.create_ok()
    sid, token = created["session_id"], token_of(created["widget_urls"]["host"])
    headers = bearer(token)
    # WHEN the token is used on the integrator's routes
    calls = [
        alice.http.post(
            "/v1/sessions", json={"host": {"name": "a"}, "client": {"name": "b"}}, headers=headers
        ),
        alice.http.get("/v1/sessions", headers=headers),
        alice.http.delete(f"/v1/sessions/{sid}", headers=headers),
    ]
    # THEN each is 401: a join token is not an API key, even for its own session
    for response in calls:
        assert response.status_code == 401, (response.request.url, response.text)
        assert response.json() == UNAUTHORIZED
    assert alice.get(sid).json()["status"] == "scheduled"


def test_the_hosts_join_token_ends_its_own_session_and_only_the_host_may(alice: Caller) -> None:
    # GIVEN a session and both participants' join tokens (the widget's End session button uses the host's)
    created = alice.create_ok()
    sid = created["session_id"]
    host, guest = (bearer(token_of(created["widget_urls"][role])) for role in ("host", "client"))
    other = alice.create_ok()["session_id"]
    # WHEN the client's token tries, or the host's token on another session
    refused_client = alice.http.post(f"/v1/sessions/{sid}/end", headers=guest)
    refused_other = alice.http.post(f"/v1/sessions/{other}/end", headers=host)
    # THEN 403 and 404, and nothing ended
    assert refused_client.status_code == 403, refused_client.text
    assert refused_other.status_code == 404, refused_other.text
    assert alice.get(sid).json()["status"] == "scheduled"
    assert alice.get(other).json()["status"] == "scheduled"
    # WHEN the host's token ends its own session
    ended = alice.http.post(f"/v1/sessions/{sid}/end", headers=host)
    # THEN it is ended, like an API key would end it
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"
    assert alice.get(sid).json()["status"] == "ended"
