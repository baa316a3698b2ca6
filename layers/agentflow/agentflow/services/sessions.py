"""Sessions: create (idempotent), get, list, end, soft delete — always within one tenant."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.errors import ConflictError, NotFoundError
from agentflow.ids import new_id, now_iso
from agentflow.schemas.sessions import CreateSessionRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from agentflow.aws.items import IdempotencyItem

_TRANSACTION_ATTEMPTS = 5


def session_key(tenant_id: str, session_id: str) -> tuple[str, str]:
    """The (pk, sk) of a session."""
    return keys.tenant_pk(tenant_id), keys.session(session_id)


class CreateSession(Protocol):
    """Create a session; return ``(session, created)`` — ``created`` is False on an idempotent replay."""

    def __call__(
        self, request: CreateSessionRequest, tenant_id: str, *, actor: str, idempotency_key: str | None = ...
    ) -> tuple[dict[str, Any], bool]: ...


class ListSessions(Protocol):
    """A page of live sessions, newest first, optionally of one status."""

    def __call__(
        self,
        tenant_id: str,
        *,
        limit: int = ...,
        cursor: dict[str, Any] | None = ...,
        status: str | None = ...,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...


class EndSession(Protocol):
    """Mark a session ended (idempotent: ending an ended session returns it unchanged)."""

    def __call__(self, session_id: str, tenant_id: str, *, actor: str) -> dict[str, Any]: ...


class DeleteSession(Protocol):
    """Soft-delete a session: it disappears from the API and stays in the table."""

    def __call__(self, session_id: str, tenant_id: str, *, actor: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SessionService:
    """Operations on one tenant's sessions."""

    create_session: CreateSession
    get_session: Callable[[str, str], dict[str, Any]]
    list_sessions: ListSessions
    end_session: EndSession
    delete_session: DeleteSession


def create_session_service(table: Table, *, idempotency_ttl_seconds: int = 24 * 3600) -> SessionService:
    """Build the session operations over ``table``."""

    def get_session(session_id: str, tenant_id: str) -> dict[str, Any]:
        """Return a live session of ``tenant_id`` or raise ``NotFoundError`` (also for other tenants')."""
        item = records.get_live(table, *session_key(tenant_id, session_id))
        if item is None:
            raise NotFoundError.of("Session", session_id)
        return item

    def _claim_and_put(tenant_id: str, key: str, body_hash: str, session: dict[str, Any]) -> str | None:
        """Write the idempotency claim and the session in one transaction.

        Returns ``None`` when both were written, or the session id of an earlier live claim with
        the same body. One transaction means a claim never exists without its session, so a crash
        between two writes cannot leave a key that blocks every retry for a day.
        """
        now = int(time.time())
        claim = {
            "pk": keys.tenant_pk(tenant_id),
            "sk": keys.idempotency(key),
            "entity": "idempotency",
            "tenant_id": tenant_id,
            "body_hash": body_hash,
            "session_id": session["session_id"],
            "expires_at_epoch": now + idempotency_ttl_seconds,
            **{k: session[k] for k in ("created_at", "created_by", "updated_at", "updated_by")},
        }
        key_of_claim = {"pk": claim["pk"], "sk": claim["sk"]}

        def earlier_session(found: IdempotencyItem | dict[str, Any]) -> str:
            if found["body_hash"] != body_hash:
                raise ConflictError("Idempotency-Key was already used with a different request body")
            return str(found["session_id"])

        # A replay is answered from a read, so only true races reach a failing transaction (which
        # costs write capacity, and which moto handles by restoring a whole-table snapshot).
        found = cast(
            "IdempotencyItem | None", table.get_item(Key=key_of_claim, ConsistentRead=True).get("Item")
        )
        if found is not None and int(found["expires_at_epoch"]) >= now:
            return earlier_session(found)
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                table.meta.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table.name,
                                "Item": claim,
                                # DynamoDB TTL deletes lazily (and moto not at all): an expired
                                # claim may be taken over.
                                "ConditionExpression": "attribute_not_exists(pk) OR #exp < :now",
                                "ExpressionAttributeNames": {"#exp": "expires_at_epoch"},
                                "ExpressionAttributeValues": {":now": now},
                            }
                        },
                        {
                            "Put": {
                                "TableName": table.name,
                                "Item": session,
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                return None
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    break
                if "TransactionConflict" not in reasons or attempt == _TRANSACTION_ATTEMPTS - 1:
                    raise
                # A concurrent request with the same key holds the item: let it finish.
                time.sleep(0.05 * (attempt + 1))
        return earlier_session(table.get_item(Key=key_of_claim, ConsistentRead=True)["Item"])

    def create_session(
        request: CreateSessionRequest, tenant_id: str, *, actor: str, idempotency_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Create a session; return ``(session, created)`` — ``created`` is False on an idempotent replay.

        Raises:
            ConflictError: ``idempotency_key`` was used within its TTL with another body, or the
                session it created has since been deleted.
        """
        session_id = new_id("ses")
        pk, sk = session_key(tenant_id, session_id)
        now = now_iso()
        item = {
            "pk": pk,
            "sk": sk,
            "entity": "session",
            "tenant_id": tenant_id,
            "session_id": session_id,
            "status": "scheduled",
            **request.model_dump(mode="json", exclude_none=True),
            "created_at": now,
            "updated_at": now,
            "created_by": actor,
            "updated_by": actor,
        }
        if not idempotency_key:
            return records.put_new(table, item, actor=actor), True
        body = json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()
        earlier_id = _claim_and_put(tenant_id, idempotency_key, hashlib.sha256(body).hexdigest(), item)
        if earlier_id is None:
            return item, True
        earlier = records.get_live(table, *session_key(tenant_id, earlier_id))
        if earlier is None:
            raise ConflictError("The session created with this Idempotency-Key has been deleted")
        return earlier, False

    def list_sessions(
        tenant_id: str, *, limit: int = 20, cursor: dict[str, Any] | None = None, status: str | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of live sessions, newest first, optionally of one status."""
        return records.query_live(
            table,
            keys.tenant_pk(tenant_id),
            sk_prefix=keys.SESSION,
            limit=limit,
            cursor=cursor,
            filter_expression=Attr("status").eq(status) if status else None,
        )

    def end_session(session_id: str, tenant_id: str, *, actor: str) -> dict[str, Any]:
        """Mark a session ended (idempotent: ending an ended session returns it unchanged)."""
        session = get_session(session_id, tenant_id)
        if session["status"] == "ended":
            return session
        now = now_iso()
        try:
            return records.update(
                table,
                *session_key(tenant_id, session_id),
                actor=actor,
                values={"status": "ended", "ended_at": now},
                condition=Attr("status").eq("scheduled"),
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                return get_session(session_id, tenant_id)
            raise

    def delete_session(session_id: str, tenant_id: str, *, actor: str) -> dict[str, Any]:
        """Soft-delete a session: it disappears from the API and stays in the table."""
        get_session(session_id, tenant_id)
        try:
            return records.soft_delete(table, *session_key(tenant_id, session_id), actor=actor)
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                raise NotFoundError.of("Session", session_id) from exc
            raise

    return SessionService(
        create_session=create_session,
        get_session=get_session,
        list_sessions=list_sessions,
        end_session=end_session,
        delete_session=delete_session,
    )
