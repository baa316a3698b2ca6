"""Every key the table holds, spelled once.

Each entity has a prefix constant (for ``begins_with`` queries and cursor checks) and a builder for
the key that names one item. Everything a tenant owns sits under :func:`tenant_pk`.

New entities add their prefix and builder here, never an f-string at the call site.
"""

from __future__ import annotations

# Partition keys and fixed sort keys.
TENANT = "TENANT#"
TENANT_SK = "TENANT"

# Sort-key prefixes under a tenant.
SESSION = "SESSION#"


def tenant_pk(tenant_id: str) -> str:
    """The partition key of everything a tenant owns (and the gsi1 key of its API keys)."""
    return f"{TENANT}{tenant_id}"


def session(session_id: str) -> str:
    """A session's sort key under its tenant, and the gsi1 partition of the session's children."""
    return f"{SESSION}{session_id}"


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
