"""``Idempotency-Key`` on ``POST /v1/sessions``: replays return the first session; reuse with another body is 409."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from agentflow.errors import ConflictError
from agentflow.schemas.sessions import CreateSessionRequest
from agentflow.services.sessions import create_session_service
from boto3.dynamodb.conditions import Key

from .support import Caller, session_body


def _sessions_in_table(ddb: Any, caller: Caller) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ddb.query(
        KeyConditionExpression=Key("pk").eq(f"TENANT#{caller.tenant.tenant_id}")
        & Key("sk").begins_with("SESSION#"),
        ConsistentRead=True,
    )["Items"]
    return items


def test_same_key_and_body_returns_the_first_session(alice: Caller, ddb: Any) -> None:
    # GIVEN a session created with an Idempotency-Key
    key = str(uuid.uuid4())
    first = alice.create(session_body(), **{"Idempotency-Key": key})
    assert first.status_code == 201

    # WHEN the same request is sent again (a client retry)
    second = alice.create(session_body(), **{"Idempotency-Key": key})

    # THEN it answers like the first: 201, same session, marked as a replay
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["session_id"] == first.json()["session_id"]
    assert second.json()["created_at"] == first.json()["created_at"]
    # AND only one session exists
    assert [s["session_id"] for s in _sessions_in_table(ddb, alice)] == [first.json()["session_id"]]
    # AND the key is kept for 24 h, tied to that session, with the audit fields of every record
    claim = ddb.get_item(Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"IDEMPOTENCY#{key}"})["Item"]
    assert claim["session_id"] == first.json()["session_id"]
    assert abs(int(claim["expires_at_epoch"]) - (time.time() + 24 * 3600)) < 120
    assert claim["created_by"] == claim["updated_by"] == f"key:{alice.tenant.key_id}"
    assert claim["created_at"] == claim["updated_at"]


def test_same_key_with_a_different_body_is_409(alice: Caller, ddb: Any) -> None:
    key = str(uuid.uuid4())
    first = alice.create(session_body(), **{"Idempotency-Key": key})
    assert first.status_code == 201
    # WHEN the key is reused for another request
    other = alice.create(session_body(client={"name": "Someone Else"}), **{"Idempotency-Key": key})
    # THEN 409 and nothing new is created
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert len(_sessions_in_table(ddb, alice)) == 1


def test_without_a_key_every_request_creates_a_session(alice: Caller) -> None:
    ids = {alice.create(session_body()).json()["session_id"] for _ in range(2)}
    assert len(ids) == 2


def test_keys_are_scoped_to_the_tenant(alice: Caller, bob: Caller) -> None:
    key = str(uuid.uuid4())
    mine = alice.create(session_body(), **{"Idempotency-Key": key})
    theirs = bob.create(session_body(client={"name": "Other"}), **{"Idempotency-Key": key})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["session_id"] != theirs.json()["session_id"]
    assert bob.get(theirs.json()["session_id"]).status_code == 200


def test_replay_after_the_session_was_deleted_is_409(alice: Caller) -> None:
    key = str(uuid.uuid4())
    first = alice.create(session_body(), **{"Idempotency-Key": key})
    assert alice.delete(first.json()["session_id"]).status_code == 200
    again = alice.create(session_body(), **{"Idempotency-Key": key})
    assert again.status_code == 409


def test_concurrent_retries_after_the_first_answer_return_its_session(alice: Caller, ddb: Any) -> None:
    # GIVEN a session created with a key
    key = str(uuid.uuid4())
    first = alice.create(session_body(), **{"Idempotency-Key": key})
    assert first.status_code == 201
    # WHEN six retries of it arrive at once
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: alice.create(session_body(), **{"Idempotency-Key": key}), range(6))
        )
    # THEN each is a replay of the first, and the table still holds one session
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert {r.json()["session_id"] for r in responses} == {first.json()["session_id"]}
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in responses)
    assert len(_sessions_in_table(ddb, alice)) == 1
    # (Concurrent *first* requests are left to DynamoDB's transaction isolation: moto has none —
    # a cancelled transaction restores a whole-table snapshot, undoing concurrent writes — so
    # racing first requests here would test moto, not this code.)


def test_an_expired_key_is_taken_over_by_a_new_session(alice: Caller, ddb: Any) -> None:
    # GIVEN a key whose claim expired (DynamoDB TTL deletes lazily, moto never)
    key = str(uuid.uuid4())
    first = alice.create(session_body(), **{"Idempotency-Key": key}).json()["session_id"]
    ddb.update_item(
        Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"IDEMPOTENCY#{key}"},
        UpdateExpression="SET expires_at_epoch = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    # WHEN the key is used again, even with another body
    again = alice.create(session_body(client={"name": "Later"}), **{"Idempotency-Key": key})
    # THEN it creates a new session, and the key now points at it
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["session_id"] != first
    claim = ddb.get_item(Key={"pk": f"TENANT#{alice.tenant.tenant_id}", "sk": f"IDEMPOTENCY#{key}"})["Item"]
    assert claim["session_id"] == again.json()["session_id"]


class _MissesFirstRead:
    """The real table, except that the first ``get_item`` sees nothing: a race lost between the
    service's read of the key and its transaction, made deterministic."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._hidden = True

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        if self._hidden:
            self._hidden = False
            return {}
        result: dict[str, Any] = self._table.get_item(**kwargs)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_a_race_lost_to_the_same_body_replays_the_winner(alice: Caller, ddb: Any) -> None:
    # GIVEN a session created with a key, and a second request that read the key before it existed
    key = str(uuid.uuid4())
    winner = alice.create(session_body(), **{"Idempotency-Key": key}).json()["session_id"]
    service = create_session_service(_MissesFirstRead(ddb))
    request = CreateSessionRequest.model_validate(session_body())
    # WHEN the second request's transaction fails on the claim
    session, created = service.create_session(
        request, alice.tenant.tenant_id, actor="test", idempotency_key=key
    )
    # THEN it answers with the winner's session and wrote nothing
    assert (session["session_id"], created) == (winner, False)
    assert len(_sessions_in_table(ddb, alice)) == 1


def test_a_race_lost_to_another_body_is_a_conflict(alice: Caller, ddb: Any) -> None:
    key = str(uuid.uuid4())
    assert alice.create(session_body(), **{"Idempotency-Key": key}).status_code == 201
    service = create_session_service(_MissesFirstRead(ddb))
    request = CreateSessionRequest.model_validate(session_body(client={"name": "Other"}))
    with pytest.raises(ConflictError):
        service.create_session(request, alice.tenant.tenant_id, actor="test", idempotency_key=key)
    assert len(_sessions_in_table(ddb, alice)) == 1
