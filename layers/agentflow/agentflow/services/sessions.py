"""Sessions: create (idempotent), get, list, end, soft delete — always within one tenant."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import records
from agentflow.errors import ConflictError, NotFoundError
from agentflow.ids import new_id, now_iso
from agentflow.schemas.sessions import CreateSessionRequest

SESSION_PREFIX = "SESSION#"


def session_key(tenant_id: str, session_id: str) -> tuple[str, str]:
    """The (pk, sk) of a session."""
    return records.tenant_pk(tenant_id), f"{SESSION_PREFIX}{session_id}"


@dataclass(frozen=True)
class SessionService:
    """Operations on one tenant's sessions."""

    create_session: Callable[..., tuple[dict[str, Any], bool]]
    get_session: Callable[[str, str], dict[str, Any]]
    list_sessions: Callable[..., tuple[list[dict[str, Any]], dict[str, Any] | None]]
    end_session: Callable[..., dict[str, Any]]
    delete_session: Callable[..., dict[str, Any]]


def create_session_service(table: Any, *, idempotency_ttl_seconds: int = 24 * 3600) -> SessionService:
    """Build the session operations over ``table``."""

    def get_session(session_id: str, tenant_id: str) -> dict[str, Any]:
        """Return a live session of ``tenant_id`` or raise ``NotFoundError`` (also for other tenants')."""
        item = records.get_live(table, *session_key(tenant_id, session_id))
        if item is None:
            raise NotFoundError.of("Session", session_id)
        return item

    def _idempotent(tenant_id: str, key: str, body_hash: str, session_id: str) -> str | None:
        """Claim ``key`` for ``session_id``; return the earlier session id on a replay."""
        now = int(time.time())
        item = {
            "pk": records.tenant_pk(tenant_id),
            "sk": f"IDEMPOTENCY#{key}",
            "entity": "idempotency",
            "body_hash": body_hash,
            "session_id": session_id,
            "expires_at_epoch": now + idempotency_ttl_seconds,
            "created_at": now_iso(),
        }
        try:
            # DynamoDB TTL deletes lazily (and moto not at all): an expired claim may be taken over.
            table.put_item(
                Item=item,
                ConditionExpression=Attr("pk").not_exists() | Attr("expires_at_epoch").lt(now),
            )
            return None
        except ClientError as exc:
            if not records.is_conditional_failure(exc):
                raise
        earlier = table.get_item(Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)["Item"]
        if earlier["body_hash"] != body_hash:
            raise ConflictError("Idempotency-Key was already used with a different request body")
        return str(earlier["session_id"])

    def create_session(
        request: CreateSessionRequest, tenant_id: str, *, actor: str, idempotency_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Create a session; return ``(session, created)`` — ``created`` is False on an idempotent replay."""
        session_id = new_id("ses")
        if idempotency_key:
            body = json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()
            earlier = _idempotent(tenant_id, idempotency_key, hashlib.sha256(body).hexdigest(), session_id)
            if earlier is not None:
                # The winner writes its session right after its claim; allow it a moment.
                for _ in range(50):
                    item = records.get_live(table, *session_key(tenant_id, earlier))
                    if item is not None:
                        return item, False
                    time.sleep(0.05)
                raise ConflictError("The request with this Idempotency-Key is still being processed")
        pk, sk = session_key(tenant_id, session_id)
        item = records.put_new(
            table,
            {
                "pk": pk,
                "sk": sk,
                "entity": "session",
                "tenant_id": tenant_id,
                "session_id": session_id,
                "status": "scheduled",
                **request.model_dump(mode="json", exclude_none=True),
            },
            actor=actor,
        )
        return item, True

    def list_sessions(
        tenant_id: str, *, limit: int = 20, cursor: dict[str, Any] | None = None, status: str | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of live sessions, newest first, optionally of one status."""
        return records.query_live(
            table,
            records.tenant_pk(tenant_id),
            sk_prefix=SESSION_PREFIX,
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
