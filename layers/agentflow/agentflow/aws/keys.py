"""Every key the table holds, spelled once (the layout is docs/DATA_MODEL.md's table).

Each entity has a prefix constant (for ``begins_with`` queries and cursor checks) and a builder for
the key that names one item. Everything a tenant owns sits under :func:`tenant_pk`; the children of a
session (recordings, summaries, signatures, events, deliveries) are also indexed on ``gsi1`` under
:func:`session` so a session's items come back in one query.

New entities add their prefix and builder here, never an f-string at the call site.
"""

from __future__ import annotations

# Partition keys and fixed sort keys.
TENANT = "TENANT#"
TENANT_SK = "TENANT"
API_KEY = "APIKEY#"
API_KEY_SK = "APIKEY"
PUBLIC_KEY = "PUBLICKEY#"
PUBLIC_KEY_SK = "PUBLICKEY"
PUBLIC_KEYS_GSI1PK = "PUBLICKEYS"

# Sort-key prefixes under a tenant (and gsi1 sort keys under a session).
SESSION = "SESSION#"
RECORDING = "RECORDING#"
SUMMARY = "SUMMARY#"
SIGNATURE = "SIGNATURE#"
EVENT = "EVENT#"
DELIVERY = "DELIVERY#"
WEBHOOK_ENDPOINT = "WEBHOOKENDPOINT#"
WORKFLOW = "WORKFLOW#"
IDEMPOTENCY = "IDEMPOTENCY#"


def tenant_pk(tenant_id: str) -> str:
    """The partition key of everything a tenant owns (and the gsi1 key of its API keys)."""
    return f"{TENANT}{tenant_id}"


def session(session_id: str) -> str:
    """A session's sort key under its tenant, and the gsi1 partition of the session's children."""
    return f"{SESSION}{session_id}"


def recording(recording_id: str) -> str:
    """A recording's sort key (under the tenant) and gsi1 sort key (under the session)."""
    return f"{RECORDING}{recording_id}"


def summary(summary_id: str) -> str:
    """A summary's sort key (under the tenant) and gsi1 sort key (under the session)."""
    return f"{SUMMARY}{summary_id}"


def signature(signature_id: str) -> str:
    """A signature's sort key (under the tenant) and gsi1 sort key (under the session)."""
    return f"{SIGNATURE}{signature_id}"


def event(event_id: str) -> str:
    """A webhook event's sort key (under the tenant) and gsi1 sort key (under the session)."""
    return f"{EVENT}{event_id}"


def delivery(delivery_id: str) -> str:
    """A webhook delivery's sort key (under the tenant) and gsi1 sort key (under the session)."""
    return f"{DELIVERY}{delivery_id}"


def webhook_endpoint(endpoint_id: str) -> str:
    """A webhook endpoint's sort key under its tenant."""
    return f"{WEBHOOK_ENDPOINT}{endpoint_id}"


def workflow(workflow_id: str) -> str:
    """A workflow's sort key under its tenant."""
    return f"{WORKFLOW}{workflow_id}"


def idempotency(key: str) -> str:
    """An idempotency claim's sort key under its tenant (``key`` is the client's header value)."""
    return f"{IDEMPOTENCY}{key}"


def api_key_pk(key_hash: str) -> str:
    """An API key's partition key: the SHA-256 of the key, so a request finds it in one read."""
    return f"{API_KEY}{key_hash}"


def api_key_gsi1sk(key_id: str) -> str:
    """An API key's gsi1 sort key under its tenant (list or revoke a tenant's keys by id)."""
    return f"{API_KEY}{key_id}"


def public_key_pk(kid: str) -> str:
    """A public key's partition key (its sort key is :data:`PUBLIC_KEY_SK`)."""
    return f"{PUBLIC_KEY}{kid}"


def public_key_gsi1sk(created_at: str, kid: str) -> str:
    """A public key's gsi1 sort key under :data:`PUBLIC_KEYS_GSI1PK`: the JWKS lists oldest first."""
    return f"{created_at}#{kid}"


# Per-participant call tracks (issue 16).
TRACK = "TRACK#"


def track(track_id: str) -> str:
    """A track's sort key under its tenant."""
    return f"{TRACK}{track_id}"


def track_gsi1sk(role: str, started_at_server_ms: int, track_id: str) -> str:
    """A track's gsi1 sort key under its session: one participant's tracks in start order.

    ``begins_with(TRACK)`` lists every track of the session, ``begins_with(TRACK + role + "#")``
    one participant's; the zero-padded start keeps the order numeric.
    """
    return f"{TRACK}{role}#{started_at_server_ms:015d}#{track_id}"


# The call's signaling (agentflow.signaling, docs/CALL.md). A message event names only its
# connection, so a connection is its own partition; seats and the call sit under the tenant.
CONNECTION = "CONNECTION#"
CONNECTION_SK = "CONNECTION"
SEAT = "SEAT#"
CALL = "CALL#"


def connection_pk(connection_id: str) -> str:
    """A WebSocket connection's partition key (its sort key is :data:`CONNECTION_SK`)."""
    return f"{CONNECTION}{connection_id}"


def seat(session_id: str, role: str) -> str:
    """The sort key (under the tenant) of one of a session's two seats, ``host`` or ``client``."""
    return f"{SEAT}{session_id}#{role}"


def call(session_id: str) -> str:
    """The sort key (under the tenant) of a session's call: put once, when both first joined."""
    return f"{CALL}{session_id}"
