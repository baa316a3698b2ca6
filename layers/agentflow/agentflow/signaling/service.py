"""Signaling: who holds which seat of a session's call, and relaying frames between the two.

Records (single table, keys in ``agentflow.aws.keys``):

- a **connection** (``CONNECTION#{id}`` / ``CONNECTION``): written by ``$connect`` once the join
  token is verified; it carries the token's session, tenant and role, because a message event
  names only its connection. ``$disconnect`` soft-deletes it (``status``, ``deleted_at``, ``deleted_by``).
- a **seat** per role (under the tenant, ``SEAT#{session}#{role}``): the connection that holds it,
  and a ``version`` that every claim and release bumps, so a claim is a conditional write on the
  version it read (two joins racing: one wins, the other re-reads). A release is conditional on the
  holder, so the old tab's late ``$disconnect`` never frees the seat its successor took over. Seats
  expire (``expires_at_epoch``, the table's TTL) a little after API Gateway's 2-hour connection limit.
- a **call** (under the tenant, ``CALL#{session}``): put once, the first time both seats are held;
  that put is what makes ``session.started`` fire exactly once.

Order inside ``join`` (why): claim the seat first (the conditional write is the decision), then
tell the replaced connection and close it, then answer the joiner, then tell the peer, then the
webhooks — a crash after the claim leaves a seat its holder can re-join, never two holders.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.items import CallItem, ConnectionItem, SeatItem, SessionItem, TenantItem
from agentflow.errors import UnauthorizedError
from agentflow.ids import now_iso
from agentflow.services import join_tokens
from agentflow.signaling import protocol
from agentflow.signaling.connections import Connections
from agentflow.signaling.protocol import Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

log = logging.getLogger("agentflow.signaling")

CONNECTED, JOINED, OCCUPIED, FREE = "CONNECTED", "JOINED", "OCCUPIED", "FREE"
_CLAIM_ATTEMPTS = 4


@dataclass(frozen=True)
class ConnectResult:
    """What ``$connect`` answers: 200 lets the upgrade through, 401/403 refuses it."""

    status_code: int
    reason: str


class Connect(Protocol):
    """Authenticate a new connection from its join token."""

    def __call__(
        self, connection_id: str, *, token: str | None, session_hint: str | None
    ) -> ConnectResult: ...


class Message(Protocol):
    """Handle one frame a page sent on ``route``."""

    def __call__(self, connection_id: str, *, route: str, body: str | None) -> None: ...


class Disconnect(Protocol):
    """A connection closed: free its seat, tell the peer, soft-delete its record."""

    def __call__(self, connection_id: str, *, status_code: int, reason: str) -> None: ...


class EndCall(Protocol):
    """Tell both pages a session ended and close their connections; return how many were told."""

    def __call__(self, tenant_id: str, session_id: str) -> int: ...


@dataclass(frozen=True)
class SignalingService:
    """The signaling operations (docs/CALL.md)."""

    connect: Connect
    message: Message
    disconnect: Disconnect
    end_call: EndCall


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


def create_signaling_service(
    table: Table,
    *,
    connections: Connections,
    sqs: SQSClient | None,
    secrets: SecretsManagerClient | None,
    token_secret_id: str,
    webhooks_queue_url: str,
    seat_ttl_seconds: int = 2 * 3600 + 600,
    clock_ms: Callable[[], int] = _epoch_ms,
) -> SignalingService:
    """Build the signaling operations over ``table`` and the management API ``connections``.

    Args:
        table: The DynamoDB table resource.
        connections: Pushes frames to and closes connections.
        sqs: Queues the webhook deliveries (``None``: this service emits no webhook, as
            ``announce_session_ended``'s does not).
        secrets: Reads the join tokens' HMAC secret (``None``: this service verifies no token).
        token_secret_id: The join tokens' HMAC secret (Secrets Manager id).
        webhooks_queue_url: Where ``participant.*`` and ``session.started`` deliveries are queued.
        seat_ttl_seconds: Lifetime of a seat and a connection record (the table's TTL).
        clock_ms: Epoch milliseconds (``server_time_ms`` in ``joined`` and ``pong``).
    """

    # ------------------------------------------------------------ records
    def _connection(connection_id: str) -> ConnectionItem | None:
        return records.get_live(
            table, keys.connection_pk(connection_id), keys.CONNECTION_SK, kind=ConnectionItem
        )

    def _session(tenant_id: str, session_id: str) -> SessionItem | None:
        return records.get_live(table, keys.tenant_pk(tenant_id), keys.session(session_id), kind=SessionItem)

    def _seat(tenant_id: str, session_id: str, role: Role) -> SeatItem | None:
        # A free seat is read too (its version is what the next claim is conditional on).
        return records.get_any(table, keys.tenant_pk(tenant_id), keys.seat(session_id, role), kind=SeatItem)

    def _holder(seat: SeatItem | None) -> str | None:
        """The connection holding ``seat``, if it is held and has not outlived its TTL."""
        if seat is None or seat.get("status") != OCCUPIED:
            return None
        if int(seat.get("expires_at_epoch", 0)) <= clock_ms() // 1000:
            return None  # DynamoDB deletes expired items lazily (and moto never)
        return str(seat["connection_id"])

    def _claim(conn: ConnectionItem, connection_id: str) -> str | None:
        """Take ``conn``'s seat for ``connection_id``; return the connection that held it before."""
        tenant_id, session_id, role = conn["tenant_id"], conn["session_id"], conn["role"]
        for _ in range(_CLAIM_ATTEMPTS):
            seat = _seat(tenant_id, session_id, role)
            previous = _holder(seat)
            now = now_iso()
            item: SeatItem = {
                "pk": keys.tenant_pk(tenant_id),
                "sk": keys.seat(session_id, role),
                "entity": "seat",
                "tenant_id": tenant_id,
                "session_id": session_id,
                "role": role,
                "status": OCCUPIED,
                "connection_id": connection_id,
                "version": int(seat["version"]) + 1 if seat else 1,
                "joined_at": now,
                "expires_at_epoch": clock_ms() // 1000 + seat_ttl_seconds,
                "created_at": seat["created_at"] if seat else now,
                "created_by": seat["created_by"] if seat else conn["created_by"],
                "updated_at": now,
                "updated_by": conn["created_by"],
            }
            condition = Attr("pk").not_exists() if seat is None else Attr("version").eq(seat["version"])
            try:
                table.put_item(Item=records.attributes(item), ConditionExpression=condition)
            except ClientError as exc:
                if records.is_conditional_failure(exc):
                    continue  # another join or a release came in between: read again
                raise
            return previous
        raise RuntimeError(f"seat {session_id}/{role} kept changing; gave up after {_CLAIM_ATTEMPTS} reads")

    def _release(tenant_id: str, session_id: str, role: Role, connection_id: str, *, actor: str) -> bool:
        """Free the seat if ``connection_id`` still holds it; False when someone else does."""
        try:
            table.update_item(
                Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.seat(session_id, role)},
                UpdateExpression=(
                    "SET #status = :free, released_at = :now, released_by = :actor, "
                    "updated_at = :now, updated_by = :actor ADD version :one REMOVE connection_id"
                ),
                ConditionExpression=Attr("connection_id").eq(connection_id),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":free": FREE, ":now": now_iso(), ":actor": actor, ":one": 1},
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                return False
            raise
        return True

    def _retire(connection_id: str, *, actor: str) -> None:
        """Soft-delete a connection record (already deleted: nothing to do)."""
        try:
            records.soft_delete(table, keys.connection_pk(connection_id), keys.CONNECTION_SK, actor=actor)
        except ClientError as exc:
            if not records.is_conditional_failure(exc):
                raise

    # ------------------------------------------------------------ pushes
    def _send(connection_id: str, frame: protocol.ServerFrame) -> bool:
        return connections.post(connection_id, protocol.encode(frame))

    def _reply_error(connection_id: str, code: protocol.ErrorCode, reason: str) -> None:
        _send(connection_id, protocol.error(code, reason))

    def _gone(conn: ConnectionItem, role: Role, connection_id: str) -> bool:
        """``PostToConnection`` said 410: free the seat that connection held and retire its record.

        True when this freed the seat; False when it was free already (a ``leave`` came first) or
        another connection holds it now.
        """
        log.info("connection %s is gone; freeing the %s seat of %s", connection_id, role, conn["session_id"])
        freed = _release(conn["tenant_id"], conn["session_id"], role, connection_id, actor="signaling:gone")
        if freed:
            _participant_left(conn["tenant_id"], conn["session_id"], role, connection_id, "disconnected")
        _retire(connection_id, actor="signaling:gone")
        return freed

    # ------------------------------------------------------------ webhooks
    def _emit(session: SessionItem, event_type: str, data: dict[str, Any], event_key: str) -> None:
        # Imported on first use: the webhook service pulls in the API's schemas, which a ping or a
        # relayed candidate never needs (benchmarks/signaling_import.py).
        from agentflow.services.webhooks import emit_event

        if sqs is None:
            raise RuntimeError("this signaling service was built without an SQS client: it emits no webhook")
        emit_event(
            table,
            sqs,
            queue_url=webhooks_queue_url,
            tenant_id=session["tenant_id"],
            session=session,
            event_type=event_type,
            data=data,
            event_key=event_key,
        )

    def _participant_left(
        tenant_id: str, session_id: str, role: Role, connection_id: str, reason: protocol.LeaveReason
    ) -> None:
        found = table.get_item(Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.session(session_id)})
        if "Item" in found:
            session = records.as_item(found["Item"], kind=SessionItem)
            _emit(
                session,
                "participant.left",
                {"role": role, "reason": reason},
                f"{session_id}:participant.left:{role}:{connection_id}",
            )

    # ------------------------------------------------------------ routes
    def connect(connection_id: str, *, token: str | None, session_hint: str | None) -> ConnectResult:
        if not token:
            return ConnectResult(401, "a join token is required (?token=…)")
        if secrets is None:
            raise RuntimeError("this signaling service was built without a Secrets Manager client")
        try:
            claims = join_tokens.verify(token, secrets=secrets, secret_id=token_secret_id)
        except UnauthorizedError as exc:
            return ConnectResult(401, exc.message)
        if session_hint is not None and session_hint != claims.session_id:
            return ConnectResult(403, "the join token is for another session")
        tenant = records.get_live(table, keys.tenant_pk(claims.tenant_id), keys.TENANT_SK, kind=TenantItem)
        if tenant is None or tenant.get("status") != "ACTIVE":
            return ConnectResult(403, "the tenant is not active")
        session = _session(claims.tenant_id, claims.session_id)
        if session is None:
            return ConnectResult(403, "the session does not exist")
        if session["status"] != "scheduled":
            return ConnectResult(403, f"the session is {session['status']}")
        role: Role = claims.role
        records.put_new(
            table,
            {
                "pk": keys.connection_pk(connection_id),
                "sk": keys.CONNECTION_SK,
                "entity": "connection",
                "connection_id": connection_id,
                "tenant_id": claims.tenant_id,
                "session_id": claims.session_id,
                "role": role,
                "jti": claims.jti,
                "name": session[role]["name"],
                "peer_name": session[protocol.other(role)]["name"],
                "status": CONNECTED,
                "expires_at_epoch": clock_ms() // 1000 + seat_ttl_seconds,
            },
            actor=f"token:{role}:{claims.jti}",
            kind=ConnectionItem,
        )
        return ConnectResult(200, "connected")

    def _join(connection_id: str, conn: ConnectionItem) -> None:
        tenant_id, session_id, role = conn["tenant_id"], conn["session_id"], conn["role"]
        session = _session(tenant_id, session_id)
        if session is None or session["status"] != "scheduled":
            _send(connection_id, protocol.SESSION_ENDED)
            connections.close(connection_id)
            return
        previous = _claim(conn, connection_id)
        records.update(
            table,
            keys.connection_pk(connection_id),
            keys.CONNECTION_SK,
            actor=conn["created_by"],
            values={"status": JOINED, "joined_at": now_iso()},
        )
        if previous is not None and previous != connection_id:
            # A second tab of the same participant: the old one is told, then closed. Its record
            # is retired now, so its $disconnect (which follows the close) changes nothing.
            log.info(
                "connection %s takes the %s seat of %s over from %s",
                connection_id,
                role,
                session_id,
                previous,
            )
            _retire(previous, actor=f"signaling:replaced-by:{connection_id}")
            _send(previous, protocol.REPLACED)
            connections.close(previous)
        peer_role = protocol.other(role)
        peer = _holder(_seat(tenant_id, session_id, peer_role))
        peer_connected = peer is not None and _send(peer, protocol.peer_joined(role=role, name=conn["name"]))
        if peer is not None and not peer_connected:
            _gone(conn, peer_role, peer)
        _send(
            connection_id,
            protocol.joined(
                role=role,
                peer_name=conn["peer_name"],
                peer_connected=peer_connected,
                server_time_ms=clock_ms(),
            ),
        )
        _emit(
            session,
            "participant.joined",
            {"role": role, "name": conn["name"]},
            f"{session_id}:participant.joined:{role}:{connection_id}",
        )
        if peer_connected and _first_call(tenant_id, session_id, actor=conn["created_by"]):
            _emit(session, "session.started", {}, f"{session_id}:session.started")

    def _first_call(tenant_id: str, session_id: str, *, actor: str) -> bool:
        try:
            records.put_new(
                table,
                {
                    "pk": keys.tenant_pk(tenant_id),
                    "sk": keys.call(session_id),
                    "entity": "call",
                    "tenant_id": tenant_id,
                    "session_id": session_id,
                    "started_at": now_iso(),
                    "status": "STARTED",
                },
                actor=actor,
                kind=CallItem,
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):
                return False
            raise
        return True

    def _seated(connection_id: str) -> ConnectionItem | None:
        """The connection's record if it holds its seat right now, else ``None``."""
        conn = _connection(connection_id)
        if conn is None or conn.get("status") != JOINED:
            return None
        if _holder(_seat(conn["tenant_id"], conn["session_id"], conn["role"])) != connection_id:
            return None
        return conn

    def _signal(connection_id: str, data: protocol.SignalData) -> None:
        conn = _seated(connection_id)
        if conn is None:
            _reply_error(connection_id, "not_joined", 'send {"action": "join"} first')
            return
        peer_role = protocol.other(conn["role"])
        peer = _holder(_seat(conn["tenant_id"], conn["session_id"], peer_role))
        if peer is None:
            _reply_error(connection_id, "peer_absent", f"the {peer_role} is not in the call")
            return
        if not _send(peer, protocol.signal(sender=conn["role"], data=data)) and _gone(conn, peer_role, peer):
            _send(connection_id, protocol.peer_left(role=peer_role, reason="disconnected"))

    def _leave(connection_id: str, conn: ConnectionItem, *, reason: protocol.LeaveReason, actor: str) -> None:
        tenant_id, session_id, role = conn["tenant_id"], conn["session_id"], conn["role"]
        if not _release(tenant_id, session_id, role, connection_id, actor=actor):
            return  # not seated, or another tab has the seat: nobody is told anything
        peer = _holder(_seat(tenant_id, session_id, protocol.other(role)))
        if peer is not None and not _send(peer, protocol.peer_left(role=role, reason=reason)):
            _gone(conn, protocol.other(role), peer)
        _participant_left(tenant_id, session_id, role, connection_id, reason)

    def message(connection_id: str, *, route: str, body: str | None) -> None:
        frame = protocol.read(route, body)
        if "type" in frame:  # not a frame of the protocol: only its sender is told why
            _send(connection_id, frame)
            return
        if frame["action"] == "ping":
            _send(
                connection_id, protocol.pong(ping_id=frame["id"], t0=frame["t0"], server_time_ms=clock_ms())
            )
            return
        if frame["action"] == "signal":
            _signal(connection_id, frame["data"])
            return
        conn = _connection(connection_id)
        if conn is None:
            _reply_error(connection_id, "not_joined", "this connection is not known (reconnect)")
            return
        if frame["action"] == "join":
            _join(connection_id, conn)
            return
        _leave(connection_id, conn, reason="left", actor=conn["created_by"])
        records.update(
            table,
            keys.connection_pk(connection_id),
            keys.CONNECTION_SK,
            actor=conn["created_by"],
            values={"status": CONNECTED, "left_at": now_iso()},
        )
        # The server hangs up, not the page: a page that closed its socket right after `leave` is
        # gone to a signal relayed while the leave is handled (API Gateway may run both at once),
        # and that 410 would tell the other page it dropped rather than left.
        connections.close(connection_id)

    def disconnect(connection_id: str, *, status_code: int, reason: str) -> None:
        conn = _connection(connection_id)
        if conn is None:
            return  # replaced by another tab, or gone already: its record is retired
        log.info("connection %s closed (%s %s)", connection_id, status_code, reason)
        _leave(connection_id, conn, reason="disconnected", actor=conn["created_by"])
        _retire(connection_id, actor=conn["created_by"])

    def end_call(tenant_id: str, session_id: str) -> int:
        told = 0
        for role in ("host", "client"):
            holder = _holder(_seat(tenant_id, session_id, role))
            if holder is not None and _send(holder, protocol.SESSION_ENDED):
                told += 1
                connections.close(holder)
        return told

    return SignalingService(connect=connect, message=message, disconnect=disconnect, end_call=end_call)


def announce_session_ended(table: Table, *, management_url: str, tenant_id: str, session_id: str) -> int:
    """Tell both pages of a call that its session ended, and close them (``POST …/end`` calls this).

    Returns how many pages were told (0 when no signaling endpoint is configured).
    """
    if not management_url:
        return 0
    from agentflow.signaling.connections import create_connections, management_client

    service = create_signaling_service(
        table,
        connections=create_connections(management_client(management_url)),
        sqs=None,  # end_call verifies no token and emits no webhook
        secrets=None,
        token_secret_id="",
        webhooks_queue_url="",
    )
    return service.end_call(tenant_id, session_id)
