"""The protocol's frames: the server's byte for byte, the page's as ``protocol.read`` takes them.

The widget (widget/src/signaling.ts) reads exactly the bytes below: they are what ``protocol.encode``
produced before the frames were typed (issue 20); a change to a key, its order or a value's spelling
fails here before it reaches a page. ``read`` answers a bad frame with the error frame its sender
gets, with the reasons tests/signaling/test_handler.py sees through the whole stack.
"""

from __future__ import annotations

import pytest
from agentflow.signaling import protocol


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (
            protocol.joined(role="host", peer_name="Bob Client", peer_connected=True, server_time_ms=17),
            b'{"type":"joined","role":"host","polite":false,'
            b'"peer":{"role":"client","name":"Bob Client","connected":true},"server_time_ms":17}',
        ),
        (
            protocol.joined(role="client", peer_name="Dr. Ada Høst", peer_connected=False, server_time_ms=5),
            '{"type":"joined","role":"client","polite":true,'
            '"peer":{"role":"host","name":"Dr. Ada Høst","connected":false},"server_time_ms":5}'.encode(),
        ),
        (
            protocol.peer_joined(role="client", name="Bob Client"),
            b'{"type":"peer-joined","peer":{"role":"client","name":"Bob Client"}}',
        ),
        (
            protocol.peer_left(role="host", reason="disconnected"),
            b'{"type":"peer-left","peer":{"role":"host"},"reason":"disconnected"}',
        ),
        (
            protocol.signal(sender="host", data={"description": {"type": "offer", "sdp": "v=0\r\n"}}),
            b'{"type":"signal","from":"host","data":{"description":{"type":"offer","sdp":"v=0\\r\\n"}}}',
        ),
        (
            protocol.signal(sender="client", data={"candidate": None}),
            b'{"type":"signal","from":"client","data":{"candidate":null}}',
        ),
        (
            protocol.pong(ping_id=7, t0=1796120131000, server_time_ms=1796120131042),
            b'{"type":"pong","id":7,"t0":1796120131000,"server_time_ms":1796120131042}',
        ),
        (
            protocol.pong(ping_id=None, t0="x", server_time_ms=1),
            b'{"type":"pong","id":null,"t0":"x","server_time_ms":1}',
        ),
        (protocol.REPLACED, b'{"type":"replaced"}'),
        (protocol.SESSION_ENDED, b'{"type":"session-ended"}'),
        (
            protocol.error("unknown_action", "unknown action 'dance'"),
            b'{"type":"error","code":"unknown_action","reason":"unknown action \'dance\'"}',
        ),
    ],
)
def test_each_server_frame_encodes_to_the_bytes_the_widget_reads(
    frame: protocol.ServerFrame, wire: bytes
) -> None:
    # GIVEN a frame built by the protocol module  WHEN it is encoded  THEN the bytes are unchanged
    assert protocol.encode(frame) == wire


@pytest.mark.parametrize(
    ("route", "body", "frame"),
    [
        ("join", '{"action": "join", "extra": 1}', {"action": "join"}),
        ("leave", '{"action": "leave"}', {"action": "leave"}),
        (
            "ping",
            '{"action": "ping", "id": 7, "t0": 1796120131000}',
            {"action": "ping", "id": 7, "t0": 1796120131000},
        ),
        ("ping", '{"action": "ping"}', {"action": "ping", "id": None, "t0": None}),
        (
            "signal",
            '{"action": "signal", "data": {"description": {"type": "answer", "sdp": "v=0"}}}',
            {"action": "signal", "data": {"description": {"type": "answer", "sdp": "v=0"}}},
        ),
        (
            "signal",
            '{"action": "signal", "data": {"candidate": null, "note": "kept"}}',
            {"action": "signal", "data": {"candidate": None, "note": "kept"}},
        ),
    ],
)
def test_a_frame_of_the_protocol_is_read_as_its_kind(
    route: str, body: str, frame: protocol.ClientFrame
) -> None:
    # GIVEN a page's frame on its route  WHEN it is read  THEN it is that kind, ``data`` as the page sent it
    assert protocol.read(route, body) == frame


@pytest.mark.parametrize(
    ("route", "body", "code", "reason"),
    [
        (
            "signal",
            '{"action": "signal", "data": {"x": "' + "a" * protocol.MAX_SIGNAL_BYTES + '"}}',
            "too_large",
            f"frames are limited to {protocol.MAX_SIGNAL_BYTES} bytes",
        ),
        ("$default", "{not json", "bad_message", "a frame is a JSON object"),
        ("join", None, "bad_message", "a frame is a JSON object"),
        ("$default", "[1, 2]", "bad_message", "a frame is a JSON object"),
        ("$default", '{"action": "dance"}', "unknown_action", "unknown action 'dance'"),
        ("join", '{"action": "leave"}', "unknown_action", "unknown action 'leave'"),
        ("ping", "{}", "unknown_action", "unknown action None"),
        ("signal", '{"action": "signal"}', "bad_message", "data must be {description} or {candidate}"),
        (
            "signal",
            '{"action": "signal", "data": []}',
            "bad_message",
            "data must be {description} or {candidate}",
        ),
        (
            "signal",
            '{"action": "signal", "data": {"description": "v=0"}}',
            "bad_message",
            "data must be {description} or {candidate}",
        ),
        (
            "signal",
            '{"action": "signal", "data": {"candidate": "a=candidate"}}',
            "bad_message",
            "data must be {description} or {candidate}",
        ),
    ],
)
def test_a_bad_frame_is_answered_with_an_error_frame_and_its_reason(
    route: str, body: str | None, code: protocol.ErrorCode, reason: str
) -> None:
    # GIVEN a frame that is too large, not JSON, not an object, of another route or with bad data
    # WHEN it is read  THEN the answer is the error frame for its sender
    assert protocol.read(route, body) == {"type": "error", "code": code, "reason": reason}
