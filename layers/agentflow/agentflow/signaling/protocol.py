"""The frames of docs/CALL.md, spelled once for the service, the gateway and the tests."""

from __future__ import annotations

import json
from typing import Any, Literal

Role = Literal["host", "client"]
ErrorCode = Literal["bad_message", "too_large", "unknown_action", "not_joined", "peer_absent"]
LeaveReason = Literal["left", "disconnected"]

# A page's frame, as UTF-8 bytes. WebRTC offers with many codecs run to ~6 KB; 16 KB leaves room
# and stays well under API Gateway's 32 KB frame and 128 KB message limits.
MAX_SIGNAL_BYTES = 16 * 1024
ACTIONS = ("join", "signal", "ping", "leave")


def other(role: Role) -> Role:
    """The other seat of a two-party session."""
    return "client" if role == "host" else "host"


def encode(frame: dict[str, Any]) -> bytes:
    """A frame as the bytes ``PostToConnection`` sends (compact JSON, UTF-8)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()


def error(code: ErrorCode, reason: str) -> dict[str, Any]:
    """``{"type": "error", ...}``: a frame that could not be handled."""
    return {"type": "error", "code": code, "reason": reason}


def joined(*, role: Role, peer_name: str, peer_connected: bool, server_time_ms: int) -> dict[str, Any]:
    """The answer to ``join``. The host is impolite, the client polite (W3C perfect negotiation)."""
    return {
        "type": "joined",
        "role": role,
        "polite": role == "client",
        "peer": {"role": other(role), "name": peer_name, "connected": peer_connected},
        "server_time_ms": server_time_ms,
    }


def peer_joined(*, role: Role, name: str) -> dict[str, Any]:
    """Told to a participant when the other one takes their seat."""
    return {"type": "peer-joined", "peer": {"role": role, "name": name}}


def peer_left(*, role: Role, reason: LeaveReason) -> dict[str, Any]:
    """Told to a participant when the other one leaves or their connection closes."""
    return {"type": "peer-left", "peer": {"role": role}, "reason": reason}


def signal(*, sender: Role, data: dict[str, Any]) -> dict[str, Any]:
    """A relayed description or ICE candidate."""
    return {"type": "signal", "from": sender, "data": data}


def pong(*, ping_id: Any, t0: Any, server_time_ms: int) -> dict[str, Any]:
    """The answer to ``ping``; ``id`` and ``t0`` are echoed as sent."""
    return {"type": "pong", "id": ping_id, "t0": t0, "server_time_ms": server_time_ms}


REPLACED: dict[str, Any] = {"type": "replaced"}
SESSION_ENDED: dict[str, Any] = {"type": "session-ended"}
