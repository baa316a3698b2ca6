"""The server's frames, byte for byte: the widget (widget/src/signaling.ts) reads exactly these.

The bytes below are what ``protocol.encode`` produced before the frames were typed (issue 20); a
change to a key, its order or a value's spelling fails here before it reaches a page.
"""

from __future__ import annotations

from typing import Any

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
def test_each_server_frame_encodes_to_the_bytes_the_widget_reads(frame: dict[str, Any], wire: bytes) -> None:
    # GIVEN a frame built by the protocol module  WHEN it is encoded  THEN the bytes are unchanged
    assert protocol.encode(frame) == wire
