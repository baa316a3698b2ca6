"""Poison input: a corpus of bad uploads, each through the whole local pipeline.

Every upload ends in a defined state — FAILED at ingest with a readable reason, or COMPLETED (on
what the file really holds, or with an empty summary for silence) — with one terminal webhook
each, every queue drained and every dead-letter queue empty: nothing stuck.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack

from tests.pipeline.support import integrator_for

from .support import Receiver, queue_depths, wait_drained, wait_for, write_wav

pytestmark = pytest.mark.slow

MAX_DURATION_SECONDS = 60
MAX_UPLOAD_BYTES = 3_000_000
COMPLETED_EVENTS = Counter({"recording.uploaded": 1, "transcript.ready": 1, "summary.ready": 1})
FAILED_EVENTS = Counter({"summary.failed": 1})


@dataclass(frozen=True)
class Poison:
    """One bad upload and the state it must end in."""

    name: str
    data: bytes
    filename: str
    content_type: str
    status: str  # COMPLETED or FAILED
    reason: str = ""  # a part of failure_reason (FAILED only)
    form_content_type: str | None = None  # what the browser really sends, if it lies


def _wav_header(data_bytes: int, *, rate: int = 16_000) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", (36 + data_bytes) & 0xFFFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes & 0xFFFFFFFF)
    )


def corpus(clip: Path, data_dir: Path, folder: Path) -> list[Poison]:
    """The bad uploads, built from a real clip, a real FLAC and seeded random bytes."""
    wav = clip.read_bytes()
    pcm = wav[44:]  # write_wav's header is the canonical 44 bytes
    rng = np.random.default_rng(20261125)
    five_hours = 5 * 3600 * 16_000 * 2
    silence = write_wav(folder / "silence.wav", np.zeros(5 * 16_000, dtype=np.float32)).read_bytes()
    too_long = write_wav(folder / "long.wav", np.zeros(90 * 16_000, dtype=np.float32)).read_bytes()
    too_big = write_wav(folder / "big.wav", np.zeros(100 * 16_000, dtype=np.float32)).read_bytes()
    assert len(too_long) < MAX_UPLOAD_BYTES < len(too_big)
    return [
        Poison("text named .webm", b"Meeting notes, not a video.\n" * 200, "call.webm", "video/webm",
               "FAILED", "not decodable audio"),
        Poison("browser lies about the type", wav, "call.wav", "audio/wav", "FAILED",
               "'text/plain' is not an accepted audio or video type", form_content_type="text/plain"),
        Poison("zero bytes", b"", "empty.wav", "audio/wav", "FAILED", "empty (0 bytes)"),
        Poison("header only", wav[:44], "header.wav", "audio/wav", "FAILED", "no audio (duration 0 s)"),
        Poison("truncated flac", (data_dir / "jfk.flac").read_bytes()[:4000], "cut.flac", "audio/flac",
               "FAILED", "not decodable audio"),
        Poison("truncated wav", wav[: len(wav) // 3], "cut.wav", "audio/wav", "COMPLETED"),
        Poison("header claims 5 h", _wav_header(five_hours) + pcm, "liar.wav", "audio/wav", "COMPLETED"),
        Poison("over the duration limit", too_long, "long.wav", "audio/wav", "FAILED",
               f"over the limit of {MAX_DURATION_SECONDS} s"),
        Poison("over the size limit", too_big, "big.wav", "audio/wav", "FAILED",
               f"over the limit of {MAX_UPLOAD_BYTES} bytes"),
        Poison("random bytes .wav", rng.bytes(64_000), "noise.wav", "audio/wav", "FAILED",
               "not decodable audio"),
        Poison("random bytes .mp3", rng.bytes(64_000), "noise.mp3", "audio/mpeg", "FAILED",
               "not decodable audio"),
        Poison("random bytes .webm", rng.bytes(64_000), "noise.webm", "video/webm", "FAILED",
               "not decodable audio"),
        Poison("silence", silence, "silence.wav", "audio/wav", "COMPLETED"),
    ]  # fmt: skip


def upload(api: ApiClient, session_id: str, poison: Poison) -> str:
    """Ask for the grant with the declared type, then POST what the (possibly lying) browser sends.

    moto does not enforce the POST policy (type, size range), which is why ingest re-checks both.
    """
    grant = api.expect(
        201,
        "POST",
        f"/v1/sessions/{session_id}/recordings",
        json={"filename": poison.filename, "content_type": poison.content_type},
    )
    fields = dict(grant["upload"]["fields"])
    if poison.form_content_type is not None:
        fields["Content-Type"] = poison.form_content_type
    sent = httpx.post(
        grant["upload"]["url"],
        data=fields,
        files={"file": (poison.filename, poison.data, fields["Content-Type"])},
        timeout=60,
    )
    assert sent.status_code in (200, 201, 204), sent.text
    return str(grant["recording_id"])


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The whole local pipeline, with limits small enough to test cheaply."""
    limits = {"MAX_DURATION_SECONDS": str(MAX_DURATION_SECONDS), "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES)}
    with LocalStack(environment=limits) as running:
        yield running


def test_a_type_that_is_not_audio_is_refused_at_the_grant(stack: LocalStack) -> None:
    api = integrator_for(stack, "grant")
    sid = api.create_session()["session_id"]
    for content_type in ("text/plain", "application/pdf", "image/png", "audio/", "video/x-msvideo"):
        response = api.call(
            "POST",
            f"/v1/sessions/{sid}/recordings",
            json={"filename": "x.webm", "content_type": content_type},
        )
        assert response.status_code == 422, (content_type, response.text)
        assert response.json()["detail"]["field"] == "content_type"
    assert api.expect(200, "GET", f"/v1/sessions/{sid}")["recordings"] == []


def test_every_poison_upload_ends_in_a_defined_state_with_one_webhook(
    stack: LocalStack, clips: list[Path], data_dir: Path, receiver: Receiver, tmp_path: Path
) -> None:
    # GIVEN the corpus, one session each, all uploaded at once
    api = integrator_for(stack, "poison")
    cases = corpus(clips[0], data_dir, tmp_path)
    uploaded: dict[str, tuple[str, str]] = {}  # name -> (session id, recording id)
    for poison in cases:
        sid = api.create_session(webhook_url=receiver.url)["session_id"]
        uploaded[poison.name] = (sid, upload(api, sid, poison))

    # WHEN the pipeline has run
    finals = {name: api.wait(rid, timeout=600) for name, (_sid, rid) in uploaded.items()}
    wait_for(
        lambda: all(sum(receiver.types(sid).values()) >= 1 for sid, _ in uploaded.values()),
        timeout=60,
        what="a webhook per session",
    )
    wait_drained(stack, timeout=90)

    # THEN each ends in its defined state, failures at ingest with their reason
    assert {n: f["status"] for n, f in finals.items()} == {p.name: p.status for p in cases}
    for poison in cases:
        final, (sid, _rid) = finals[poison.name], uploaded[poison.name]
        if poison.status == "FAILED":
            assert final["failed_stage"] == "ingest", (poison.name, final)
            assert poison.reason in final["failure_reason"], (poison.name, final["failure_reason"])
            assert receiver.types(sid) == FAILED_EVENTS, (poison.name, receiver.types(sid))
            failed = next(b for b in receiver.of_session(sid) if b["type"] == "summary.failed")
            assert failed["data"]["reason"] == final["failure_reason"]
        else:
            assert final["failure_reason"] is None
            assert receiver.types(sid) == COMPLETED_EVENTS, (poison.name, receiver.types(sid))
    # and the lying header did not count: the duration is what the file holds
    assert finals["header claims 5 h"]["duration_seconds"] == pytest.approx(3.6, abs=0.05)
    # and silence completed with an empty, still signed, summary
    silent = api.expect(200, "GET", f"/v1/sessions/{uploaded['silence'][0]}/summary")
    assert silent["summary"]["transcript"] == []
    assert silent["summary"]["speakers"] == []
    assert silent["summary"]["title"] == "No speech detected"
    assert silent["signature"]["jws"].count(".") == 2
    # and nothing is stuck in a queue or a dead-letter queue
    assert set(queue_depths(stack).values()) == {0}
