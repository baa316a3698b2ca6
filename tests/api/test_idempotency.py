"""``Idempotency-Key`` on ``POST /v1/sessions``: replays return the first session; reuse with another body is 409."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


def test_concurrent_retries_create_one_session(alice: Caller, ddb: Any) -> None:
    # GIVEN six identical requests with one key, sent at once
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: alice.create(session_body(), **{"Idempotency-Key": key}), range(6))
        )
    # THEN all succeed with the same session, which exists
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert len({r.json()["session_id"] for r in responses}) == 1
    assert alice.get(responses[0].json()["session_id"]).status_code == 200
    # (Not asserted: "exactly one session item". DynamoDB transactions are isolated; moto's are
    # not — a transaction that loses a race may leave its session item behind or restore a stale
    # snapshot — so that count would test moto, not this code.)
