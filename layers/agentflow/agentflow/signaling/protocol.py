"""The frames of docs/CALL.md, spelled once for the service, the gateway and the tests.

Each frame kind is a ``TypedDict``, in both directions: ``ClientFrame`` (page → server, tagged by
``action``) and ``ServerFrame`` (server → page, tagged by ``type``), so mypy checks every key the
service reads and writes. They mirror ``widget/src/signaling.ts``; the bytes on the wire are pinned
in tests/signaling/test_protocol.py. A page's text becomes a ``ClientFrame`` only through
:func:`read`, which answers anything else with the ``ErrorFrame`` to send back.

The page's frames are ``@final`` so that ``"type" in frame`` tells a ``ClientFrame`` from an
``ErrorFrame`` for mypy (a TypedDict that is not final might carry any other key).
"""

from __future__ import annotations

import json
from typing import Final, Literal, TypedDict, TypeGuard, final

Role = Literal["host", "client"]
Action = Literal["join", "signal", "ping", "leave"]
ErrorCode = Literal["bad_message", "too_large", "unknown_action", "not_joined", "peer_absent"]
LeaveReason = Literal["left", "disconnected"]

# A page's frame, as UTF-8 bytes. WebRTC offers with many codecs run to ~6 KB; 16 KB leaves room
# and stays well under API Gateway's 32 KB frame and 128 KB message limits.
MAX_SIGNAL_BYTES = 16 * 1024
ACTIONS: tuple[Action, ...] = ("join", "signal", "ping", "leave")

# A JSON object the server relays without reading it (an RTCSessionDescriptionInit or
# RTCIceCandidateInit: the two pages agree on it, the server checks only that it is an object).
JsonObject = dict[str, object]


# ---------------------------------------------------------------- page → server (``action``)
class DescriptionData(TypedDict):
    """``signal`` data carrying an SDP offer or answer."""

    description: JsonObject


class CandidateData(TypedDict):
    """``signal`` data carrying an ICE candidate (``None``: end of candidates)."""

    candidate: JsonObject | None


# The page's ``data`` object as it came (any other key it holds is relayed with it).
SignalData = DescriptionData | CandidateData


@final
class JoinFrame(TypedDict):
    """Claim my seat (the role comes from the join token)."""

    action: Literal["join"]


@final
class SignalFrame(TypedDict):
    """Relay ``data`` to the other participant."""

    action: Literal["signal"]
    data: SignalData


@final
class PingFrame(TypedDict):
    """Heartbeat and clock sample; ``id`` and ``t0`` are any JSON (``None`` when left out), echoed."""

    action: Literal["ping"]
    id: object
    t0: object


@final
class LeaveFrame(TypedDict):
    """I leave the call."""

    action: Literal["leave"]


ClientFrame = JoinFrame | SignalFrame | PingFrame | LeaveFrame


# ---------------------------------------------------------------- server → page (``type``)
class JoinedPeer(TypedDict):
    """The other seat, as ``joined`` describes it."""

    role: Role
    name: str
    connected: bool


class NamedPeer(TypedDict):
    """The participant who took their seat."""

    role: Role
    name: str


class PeerRole(TypedDict):
    """The participant who left."""

    role: Role


class JoinedFrame(TypedDict):
    """The answer to ``join``."""

    type: Literal["joined"]
    role: Role
    polite: bool
    peer: JoinedPeer
    server_time_ms: int


class PeerJoinedFrame(TypedDict):
    """The other participant took their seat."""

    type: Literal["peer-joined"]
    peer: NamedPeer


class PeerLeftFrame(TypedDict):
    """The other participant left or their connection closed."""

    type: Literal["peer-left"]
    peer: PeerRole
    reason: LeaveReason


# ``from`` is a keyword, hence the functional form.
RelayedSignalFrame = TypedDict(
    "RelayedSignalFrame", {"type": Literal["signal"], "from": Role, "data": SignalData}
)


class PongFrame(TypedDict):
    """The answer to ``ping``."""

    type: Literal["pong"]
    id: object
    t0: object
    server_time_ms: int


class ReplacedFrame(TypedDict):
    """Another tab of the same participant took this seat."""

    type: Literal["replaced"]


class SessionEndedFrame(TypedDict):
    """The host ended the session."""

    type: Literal["session-ended"]


class ErrorFrame(TypedDict):
    """A frame that could not be handled."""

    type: Literal["error"]
    code: ErrorCode
    reason: str


ServerFrame = (
    JoinedFrame
    | PeerJoinedFrame
    | PeerLeftFrame
    | RelayedSignalFrame
    | PongFrame
    | ReplacedFrame
    | SessionEndedFrame
    | ErrorFrame
)


def other(role: Role) -> Role:
    """The other seat of a two-party session."""
    return "client" if role == "host" else "host"


def encode(frame: ServerFrame) -> bytes:
    """A frame as the bytes ``PostToConnection`` sends (compact JSON, UTF-8)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()


def _is_signal_data(data: object) -> TypeGuard[SignalData]:
    return isinstance(data, dict) and (
        isinstance(data.get("description"), dict)
        or ("candidate" in data and (data["candidate"] is None or isinstance(data["candidate"], dict)))
    )


def read(route: str, body: str | None) -> ClientFrame | ErrorFrame:
    """The frame a page sent on ``route``, or the error frame that answers it.

    Checked in this order: size (``too_large``), a JSON object (``bad_message``), an ``action``
    that is the route's (``unknown_action``), and for ``signal`` the shape of ``data``
    (``bad_message``).

    Args:
        route: The route API Gateway selected (the frame's ``action``, or ``$default``).
        body: The frame's text (``None`` for a binary frame).
    """
    if body is not None and len(body.encode()) > MAX_SIGNAL_BYTES:
        return error("too_large", f"frames are limited to {MAX_SIGNAL_BYTES} bytes")
    try:
        frame = json.loads(body or "")
    except ValueError:
        return error("bad_message", "a frame is a JSON object")
    if not isinstance(frame, dict):
        return error("bad_message", "a frame is a JSON object")
    action = frame.get("action")
    if route not in ACTIONS or action != route:
        return error("unknown_action", f"unknown action {action!r}")
    if action == "ping":
        return {"action": "ping", "id": frame.get("id"), "t0": frame.get("t0")}
    if action == "signal":
        data = frame.get("data")
        if not _is_signal_data(data):
            return error("bad_message", "data must be {description} or {candidate}")
        return {"action": "signal", "data": data}
    if action == "join":
        return {"action": "join"}
    return {"action": "leave"}


def error(code: ErrorCode, reason: str) -> ErrorFrame:
    """``{"type": "error", ...}``: a frame that could not be handled."""
    return {"type": "error", "code": code, "reason": reason}


def joined(*, role: Role, peer_name: str, peer_connected: bool, server_time_ms: int) -> JoinedFrame:
    """The answer to ``join``. The host is impolite, the client polite (W3C perfect negotiation)."""
    return {
        "type": "joined",
        "role": role,
        "polite": role == "client",
        "peer": {"role": other(role), "name": peer_name, "connected": peer_connected},
        "server_time_ms": server_time_ms,
    }


def peer_joined(*, role: Role, name: str) -> PeerJoinedFrame:
    """Told to a participant when the other one takes their seat."""
    return {"type": "peer-joined", "peer": {"role": role, "name": name}}


def peer_left(*, role: Role, reason: LeaveReason) -> PeerLeftFrame:
    """Told to a participant when the other one leaves or their connection closes."""
    return {"type": "peer-left", "peer": {"role": role}, "reason": reason}


def signal(*, sender: Role, data: SignalData) -> RelayedSignalFrame:
    """A relayed description or ICE candidate."""
    return {"type": "signal", "from": sender, "data": data}


def pong(*, ping_id: object, t0: object, server_time_ms: int) -> PongFrame:
    """The answer to ``ping``; ``id`` and ``t0`` are echoed as sent."""
    return {"type": "pong", "id": ping_id, "t0": t0, "server_time_ms": server_time_ms}


REPLACED: Final[ReplacedFrame] = {"type": "replaced"}
SESSION_ENDED: Final[SessionEndedFrame] = {"type": "session-ended"}
