"""The assembler on real speech: two browser-made Opus tracks → one aligned channel per participant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from agentflow.aws import keys
from agentflow.aws.clients import client, table
from agentflow.local.stack import LocalStack
from agentflow.schemas.messages import AssembleJob
from agentflow.services.tracks import tracks_recording_id
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.stages.assemble import assemble_session

from tests.services.tracks.conftest import Call, new_call
from tests.services.tracks.support import track_chunks

CLIENT_DELAY = 0.7  # seconds: the client's recorder starts this much after the host's


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The API over moto, no pollers: these tests run the assembler themselves.

    A track that never completes is waited for 2 s after the session ends (600 s in production).
    """
    with LocalStack(pollers=False, environment={"TRACK_GRACE_SECONDS": "2"}) as running:
        yield running


@pytest.fixture
def call(stack: LocalStack) -> Call:
    return new_call(stack)


def _lag_seconds(built: npt.NDArray[np.float32], source: npt.NDArray[np.float32]) -> float:
    """Where ``source`` best matches ``built`` (seconds; positive: ``built`` is late), ±0.25 s searched."""
    n = min(built.shape[0], source.shape[0]) - SAMPLE_RATE // 2
    window = SAMPLE_RATE // 4
    best, lag = -np.inf, 0
    for shift in range(-window, window + 1, 8):  # 0.5 ms steps
        a = built[window + shift : window + shift + n - 2 * window]
        b = source[window : window + n - 2 * window]
        score = float(np.dot(a, b))
        if score > best:
            best, lag = score, shift
    return lag / SAMPLE_RATE


def _record(stack: LocalStack, call: Call) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        table(stack.ref("Table"))
        .get_item(
            Key={
                "pk": keys.tenant_pk(call.tenant_id),
                "sk": keys.recording(tracks_recording_id(call.session_id)),
            }
        )
        .get("Item")
    )
    return item


def _job(call: Call, trigger: str) -> AssembleJob:
    return AssembleJob(
        job_id=f"{call.session_id}:assemble:{trigger}",
        tenant_id=call.tenant_id,
        session_id=call.session_id,
        trigger=trigger,  # type: ignore[arg-type]
    )


def _send(call: Call, *, host_chunks: list[bytes], client_chunks: list[bytes], complete: bool = True) -> None:
    now = int(time.time() * 1000) - 10_000
    host = call.host.open_track(started_at_server_ms=now).json()["track_id"]
    guest = call.client.open_track(started_at_server_ms=now + int(CLIENT_DELAY * 1000)).json()["track_id"]
    call.host.upload(host, dict(enumerate(host_chunks, start=1)))
    call.client.upload(guest, dict(enumerate(client_chunks, start=1)))
    assert call.host.complete(host, len(host_chunks)).status_code == 200
    if complete:
        assert call.client.complete(guest, len(client_chunks)).status_code == 200


def test_two_tracks_become_one_aligned_channel_each(
    stack: LocalStack, call: Call, data_dir: Path, tmp_path: Path
) -> None:
    # GIVEN the left channel of a real two-speaker file as the host's track, and the right as the
    # client's, whose recorder started 0.7 s later (so it holds the right channel from 0.7 s on)
    stereo = decode(data_dir / "stereo_diarization.wav", mono=False)
    delay = int(CLIENT_DELAY * SAMPLE_RATE)
    _send(call, host_chunks=track_chunks(stereo[0]), client_chunks=track_chunks(stereo[1, delay:]))
    # WHEN the session ends and the assembly runs
    call.api.expect(200, "POST", f"/v1/sessions/{call.session_id}/end")
    assemble_session(_job(call, "ended"))
    # THEN a recording built from tracks names who is on which channel
    record = _record(stack, call)
    assert record is not None and record["status"] == "PENDING_UPLOAD"
    assert record["source"] == "tracks"
    assert [(c["channel"], c["role"], c["name"]) for c in record["channel_participants"]] == [
        (0, "host", "Dana"),
        (1, "client", "Eli"),
    ]
    # and says the client's audio starts 0.7 s late (their recorder started then)
    assert [
        (m["role"], m["reason"], float(m["start"]), round(float(m["end"]), 1))
        for m in record["missing_audio"]
    ] == [("client", "starts_late", 0.0, 0.7)]
    # and its audio (under recordings/, where ingest picks it up) has each voice at its time, ≤ 50 ms
    body = client("s3").get_object(Bucket=stack.ref("RecordingsBucket"), Key=record["s3_key"])["Body"].read()
    built_path = tmp_path / "tracks.flac"
    built_path.write_bytes(body)
    built = decode(built_path, mono=False)
    assert built.shape[0] == 2
    assert abs(built.shape[1] / SAMPLE_RATE - stereo.shape[1] / SAMPLE_RATE) < 0.1
    assert abs(_lag_seconds(built[0], stereo[0])) <= 0.05
    assert abs(_lag_seconds(built[1, delay:], stereo[1, delay:])) <= 0.05
    # and before the client's start, its channel is silence (not the host's voice)
    assert float(np.abs(built[1, : delay - SAMPLE_RATE // 20]).max()) == 0.0


def test_a_track_that_never_completes_is_waited_for_then_built_as_ending_early(
    stack: LocalStack, call: Call, data_dir: Path, tmp_path: Path
) -> None:
    # GIVEN a client whose tab died: its last two parts never arrived and it never completed
    stereo = decode(data_dir / "stereo_diarization.wav", mono=False)
    delay = int(CLIENT_DELAY * SAMPLE_RATE)
    client_chunks = track_chunks(stereo[1, delay:])
    _send(call, host_chunks=track_chunks(stereo[0]), client_chunks=client_chunks[:-2], complete=False)
    call.api.expect(200, "POST", f"/v1/sessions/{call.session_id}/end")
    # WHEN the assembly runs right after the end
    assemble_session(_job(call, "ended"))
    # THEN it waits for the open track (nothing is built yet)
    assert _record(stack, call) is None
    # WHEN the grace period (2 s here) is over
    time.sleep(2.1)
    assemble_session(_job(call, "grace"))
    # THEN the recording is built with what was stored, and says the client's track ends early
    record = _record(stack, call)
    assert record is not None
    missing = [(m["role"], m["reason"], float(m["start"]), float(m["end"])) for m in record["missing_audio"]]
    assert [m[:2] for m in missing] == [("client", "starts_late"), ("client", "ends_early")]
    # from where the stored parts' audio ends (0.7 s + what they decode to) to the end of the call
    stored = tmp_path / "stored.webm"
    stored.write_bytes(b"".join(client_chunks[:-2]))
    stored_end = CLIENT_DELAY + decode(stored).shape[1] / SAMPLE_RATE
    assert missing[1][2] == pytest.approx(stored_end, abs=0.05)
    assert missing[1][3] == pytest.approx(stereo.shape[1] / SAMPLE_RATE, abs=0.05)
    # and a late job after the build changes nothing
    assemble_session(_job(call, "ended"))
    assert _record(stack, call) == record


def test_video_tracks_stay_in_the_bucket_beside_the_audio(
    stack: LocalStack, call: Call, data_dir: Path
) -> None:
    # GIVEN a host who recorded their camera too (a video track of two parts) besides both audio tracks
    stereo = decode(data_dir / "stereo_diarization.wav", mono=False)
    camera = call.host.open_track(kind="video", content_type="video/webm;codecs=vp8,opus").json()["track_id"]
    call.host.upload(camera, {1: b"\x1a\x45\xdf\xa3 video 1", 2: b"video 2"})
    assert call.host.complete(camera, 2).status_code == 200
    delay = int(CLIENT_DELAY * SAMPLE_RATE)
    _send(call, host_chunks=track_chunks(stereo[0]), client_chunks=track_chunks(stereo[1, delay:]))
    # WHEN the session ends and the recording is built
    call.api.expect(200, "POST", f"/v1/sessions/{call.session_id}/end")
    assemble_session(_job(call, "ended"))
    # THEN the recording lists the video track where it lies, and its parts are still there
    record = _record(stack, call)
    assert record is not None
    [video] = record["video_tracks"]
    assert (video["track_id"], video["role"], video["status"]) == (camera, "host", "COMPLETED")
    listed = client("s3").list_objects_v2(Bucket=stack.ref("RecordingsBucket"), Prefix=video["prefix"])
    assert [o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]] == ["000001.webm", "000002.webm"]
    # and only the two audio tracks made the channels
    assert sorted(t["role"] for t in record["tracks"]) == ["client", "host"]
