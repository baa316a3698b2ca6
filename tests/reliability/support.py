"""Helpers of the reliability suite: short clips, a webhook receiver, counts behind the API."""

from __future__ import annotations

import json
import threading
import time
import wave
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from agentflow.aws.clients import client, table
from agentflow.local.stack import LocalStack
from agentflow.speech.audio import SAMPLE_RATE, decode

# Speech-bearing pieces of the shared recordings (file, start s, end s), 3-4 s each: long enough
# for whisper to find words, short enough that a clip costs a second or two per stage.
CLIPS = (
    ("sample.wav", 14.4, 18.0),  # Sheila: "And I'm Sheila in Texas, originally from Chicago."
    ("sample.wav", 17.8, 21.5),  # Diane: "Oh, I'm originally from Chicago also…"
    ("jfk.flac", 0.3, 4.3),  # "And so my fellow Americans…"
    ("dev00.wav", 1.5, 5.0),  # AMI meeting, MEE009
    ("dev01.wav", 7.0, 10.5),  # AMI meeting, MEE009
)


def write_wav(path: Path, pcm: np.ndarray, *, rate: int = SAMPLE_RATE) -> Path:
    """Write mono float PCM in [-1, 1] as 16-bit WAV."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return path


def cut_clip(source: Path, start: float, end: float, out: Path) -> Path:
    """Cut ``[start, end)`` seconds of ``source`` (any format PyAV reads) to a 16 kHz mono WAV."""
    pcm = decode(source)[0]
    return write_wav(out, pcm[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)])


def wait_for(
    predicate: Callable[[], bool], *, timeout: float, interval: float = 0.25, what: str = ""
) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what or predicate}")
        time.sleep(interval)


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 204 and keeps every request it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.raw: list[tuple[dict[str, str], bytes]] = []  # (lower-cased headers, body) for signatures
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with outer._lock:
                    outer.bodies.append(json.loads(body))
                    outer.raw.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def of_session(self, session_id: str) -> list[dict[str, Any]]:
        """The events received for one session."""
        with self._lock:
            return [b for b in self.bodies if b["data"].get("session_id") == session_id]

    def types(self, session_id: str) -> Counter[str]:
        """How many events of each type one session received."""
        return Counter(b["type"] for b in self.of_session(session_id))

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def scan_all(stack: LocalStack) -> list[dict[str, Any]]:
    """Every item of the stack's table (bounded; the test tables are small)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    for _ in range(10_000):
        page = table(stack.ref("Table")).scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise AssertionError("scan did not finish")


def object_keys(stack: LocalStack) -> set[str]:
    """Every object key of the stack's bucket."""
    keys: set[str] = set()
    paginator = client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=stack.ref("RecordingsBucket")):
        keys |= {o["Key"] for o in page.get("Contents", [])}
    return keys


def queue_depths(stack: LocalStack) -> dict[str, int]:
    """Messages visible, in flight or delayed, per queue of the template (DLQs included)."""
    assert stack.template is not None
    depths: dict[str, int] = {}
    for logical_id in stack.template.queues:
        attrs = client("sqs").get_queue_attributes(
            QueueUrl=stack.ref(logical_id),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        depths[logical_id] = sum(int(v) for v in attrs.values())
    return depths


def wait_drained(stack: LocalStack, *, timeout: float = 60) -> None:
    """Wait until every queue is empty (nothing visible, in flight or delayed)."""
    wait_for(
        lambda: not any(queue_depths(stack).values()),
        timeout=timeout,
        interval=0.5,
        what=f"queues drained ({stack.ref('Table')})",
    )
