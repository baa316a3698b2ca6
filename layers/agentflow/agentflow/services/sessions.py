"""Sessions: create (idempotent), get, list, end, soft delete — always within one tenant."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.items import IdempotencyItem, Participant, SessionItem
from agentflow.errors import ConflictError, NotFoundError
from agentflow.ids import new_id, now_iso
from agentflow.schemas.sessions import CreateSessionRequest, ParticipantSchema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_TRANSACTION_ATTEMPTS = 5


def session_key(tenant_id: str, session_id: str) -> tuple[str, str]:
    """The (pk, sk) of a session."""
    return keys.tenant_pk(tenant_id), keys.session(session_id)


def _participant(person: ParticipantSchema) -> Participant:
    stored: Participant = {"name": person.name}
    if person.external_user_id is not None:
        stored["external_user_id"] = person.external_user_id
    return stored


def session_item(
    request: CreateSessionRequest, *, tenant_id: str, session_id: str, now: str, actor: str
) -> SessionItem:
    """A new ``scheduled`` session as stored: the request's fields that were given, created ``now``."""
    pk, sk = session_key(tenant_id, session_id)
    item: SessionItem = {
        "pk": pk,
        "sk": sk,
        "entity": "session",
        "tenant_id": tenant_id,
        "session_id": session_id,
        "status": "scheduled",
        "host": _participant(request.host),
        "client": _participant(request.client),
        "auto_start_recording": request.auto_start_recording,
        "created_at": now,
        "updated_at": now,
        "created_by": actor,
        "updated_by": actor,
    }
    if request.webhook_url is not None:
        item["webhook_url"] = request.webhook_url
    if request.language is not None:
        item["language"] = request.language
    if request.num_speakers is not None:
        item["num_speakers"] = request.num_speakers
    if request.min_speakers is not None:
        item["min_speakers"] = request.min_speakers
    if request.max_speakers is not None:
        item["max_speakers"] = request.max_speakers
    if request.workflow_id is not None:
        item["workflow_id"] = request.workflow_id
    if request.vocabulary is not None:
        item["vocabulary"] = list(request.vocabulary)
    return item


class CreateSession(Protocol):
    """Create a session; return ``(session, created)`` — ``created`` is False on an idempotent replay."""

    def __call__(
        self, request: CreateSessionRequest, tenant_id: str, *, actor: str, idempotency_key: str | None = ...
    ) -> tuple[SessionItem, bool]: ...


class GetSession(Protocol):
    """A live session of ``tenant_id``; ``NotFoundError`` if absent, deleted or another tenant's."""

    def __call__(self, *, tenant_id: str, session_id: str) -> SessionItem: ...


class ListSessions(Protocol):
    """A page of live sessions, newest first, optionally of one status."""

    def __call__(
        self,
        tenant_id: str,
        *,
        limit: int = ...,
        cursor: records.Cursor | None = ...,
        status: str | None = ...,
    ) -> tuple[list[SessionItem], records.Cursor | None]: ...


class EndSession(Protocol):
    """Mark a session ended (idempotent: ending an ended session returns it unchanged)."""

    def __call__(self, *, tenant_id: str, session_id: str, actor: str) -> SessionItem: ...


class DeleteSession(Protocol):
    """Soft-delete a session: it disappears from the API and stays in the table."""

    def __call__(self, *, tenant_id: str, session_id: str, actor: str) -> SessionItem: ...


@dataclass(frozen=True)
class SessionService:
    """Operations on one tenant's sessions."""

    create_session: CreateSession
    get_session: GetSession
    list_sessions: ListSessions
    end_session: EndSession
    delete_session: DeleteSession


def create_session_service(table: Table, *, idempotency_ttl_seconds: int = 24 * 3600) -> SessionService:
    """Build the session operations over ``table``."""

    def get_session(*, tenant_id: str, session_id: str) -> SessionItem:
        """Return a live session of ``tenant_id`` or raise ``NotFoundError`` (also for other tenants')."""
        item = records.get_live(table, *session_key(tenant_id, session_id), kind=SessionItem)
        if item is None:
            raise NotFoundError.of("Session", session_id)
        return item

    def _claim_and_put(tenant_id: str, key: str, body_hash: str, session: SessionItem) -> str | None:
        """Write the idempotency claim and the session in one transaction.

        Returns ``None`` when both were written, or the session id of an earlier live claim with
        the same body. One transaction means a claim never exists without its session, so a crash
        between two writes cannot leave a key that blocks every retry for a day.
        """
        now = int(time.time())
        claim: IdempotencyItem = {
            "pk": keys.tenant_pk(tenant_id),
            "sk": keys.idempotency(key),
            "entity": "idempotency",
            "tenant_id": tenant_id,
            "body_hash": body_hash,
            "session_id": session["session_id"],
            "expires_at_epoch": now + idempotency_ttl_seconds,
            "created_at": session["created_at"],
            "created_by": session["created_by"],
            "updated_at": session["updated_at"],
            "updated_by": session["updated_by"],
        }

        def earlier_session(found: IdempotencyItem) -> str:
            if found["body_hash"] != body_hash:
                raise ConflictError("Idempotency-Key was already used with a different request body")
            return str(found["session_id"])

        def read_claim() -> IdempotencyItem | None:
            return records.get_any(table, claim["pk"], claim["sk"], kind=IdempotencyItem)

        # A replay is answered from a read, so only true races reach a failing transaction (which
        # costs write capacity, and which moto handles by restoring a whole-table snapshot).
        found = read_claim()
        if found is not None and int(found["expires_at_epoch"]) >= now:
            return earlier_session(found)
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                table.meta.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table.name,
                                "Item": records.attributes(claim),
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
                                "Item": records.attributes(session),
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
        raced = read_claim()
        if raced is None:  # only a TTL deletion between the two could do this: a 500, as before
            raise RuntimeError(f"the idempotency claim {key!r} vanished after its transaction failed")
        return earlier_session(raced)

    def create_session(
        request: CreateSessionRequest, tenant_id: str, *, actor: str, idempotency_key: str | None = None
    ) -> tuple[SessionItem, bool]:
        """Create a session; return ``(session, created)`` — ``created`` is False on an idempotent replay.

        Raises:
            ConflictError: ``idempotency_key`` was used within its TTL with another body, or the
                session it created has since been deleted.
        """
        item = session_item(
            request, tenant_id=tenant_id, session_id=new_id("ses"), now=now_iso(), actor=actor
        )
        if not idempotency_key:
            return records.put_new(table, item, actor=actor, kind=SessionItem), True
        body = json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()
        earlier_id = _claim_and_put(tenant_id, idempotency_key, hashlib.sha256(body).hexdigest(), item)
        if earlier_id is None:
            return item, True
        earlier = records.get_live(table, *session_key(tenant_id, earlier_id), kind=SessionItem)
        if earlier is None:
            raise ConflictError("The session created with this Idempotency-Key has been deleted")
        return earlier, False

    def list_sessions(
        tenant_id: str, *, limit: int = 20, cursor: records.Cursor | None = None, status: str | None = None
    ) -> tuple[list[SessionItem], records.Cursor | None]:
        """A page of live sessions, newest first, optionally of one status."""
        return records.query_live(
            table,
            keys.tenant_pk(tenant_id),
            sk_prefix=keys.SESSION,
            limit=limit,
            cursor=cursor,
            filter_expression=Attr("status").eq(status) if status else None,
            kind=SessionItem,
        )

    def end_session(*, tenant_id: str, session_id: str, actor: str) -> SessionItem:
        """Mark a session ended (idempotent: ending an ended session returns it unchanged)."""
        session = get_session(tenant_id=tenant_id, session_id=session_id)
        if session["status"] == "ended":
            return session
        now = now_iso()
        try:
            return records.update(
                table,
                *session_key(tenant_id, session_id),
                actor=actor,
                values={"status": "ended", "ended_at": now, "updated_at": now},
                condition=Attr("status").eq("scheduled"),
                kind=SessionItem,
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                return get_session(tenant_id=tenant_id, session_id=session_id)
            raise

    def delete_session(*, tenant_id: str, session_id: str, actor: str) -> SessionItem:
        """Soft-delete a session: it disappears from the API and stays in the table."""
        get_session(tenant_id=tenant_id, session_id=session_id)
        try:
            return records.soft_delete(
                table, *session_key(tenant_id, session_id), actor=actor, kind=SessionItem
            )
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
