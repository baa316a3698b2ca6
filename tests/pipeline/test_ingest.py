"""Ingest: real uploads through presigned POSTs, checked for real; bad ones fail with a reason."""

from __future__ import annotations

import io
import os
import struct
import time
import wave
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack
from agentflow.stages.analysis import run_analysis
from agentflow.stages.batch import sqs_handler
from agentflow.stages.diarize import DIARIZE

from tests.pipeline.support import events_of, integrator_for

SMALL_LIMIT = 200_000  # bytes: dev00.wav (1.9 MB) is over it, the short files below are not


def wav_bytes(seconds: float, *, rate: int = 16_000) -> bytes:
    """A valid mono 16-bit WAV of low noise."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = os.urandom(int(seconds * rate) * 2)
        out.writeframes(bytes(b & 0x0F for b in samples))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """Ingest and the dead-letter handler only: the analysis queues just collect jobs."""
    with LocalStack(
        functions={"ingest", "failures"}, environment={"MAX_UPLOAD_BYTES": str(SMALL_LIMIT)}
    ) as s:
        yield s


@pytest.fixture(scope="module")
def integrator(stack: LocalStack) -> ApiClient:
    return integrator_for(stack)


@pytest.mark.parametrize(
    ("name", "content_type", "make", "reason"),
    [
        (
            "notes.webm",
            "video/webm",
            lambda d: b"this is plain text, not a video\n" * 10,
            "not decodable audio",
        ),
        ("empty.wav", "audio/wav", lambda d: b"", "empty (0 bytes)"),
        ("long.wav", "audio/wav", lambda d: (d / "dev00.wav").read_bytes(), "over the limit"),
        (
            "corrupt.wav",
            "audio/wav",
            lambda d: b"RIFF" + struct.pack("<I", 36 + 32000) + b"WAVEfmt " + os.urandom(200),
            "not decodable audio",
        ),
    ],
)
def test_bad_upload_fails_with_clear_reason_and_one_event(
    integrator: ApiClient,
    stack: LocalStack,
    data_dir: Path,
    name: str,
    content_type: str,
    make: Any,
    reason: str,
) -> None:
    # GIVEN a session WHEN a bad file is uploaded through the presigned POST
    session = integrator.create_session()
    recording_id = integrator.upload(
        session["session_id"], make(data_dir), filename=name, content_type=content_type
    )
    # THEN the recording ends FAILED at ingest, with a human-readable reason
    final = integrator.wait(recording_id, {"FAILED", "PROCESSING"}, timeout=60)
    assert final["status"] == "FAILED"
    assert final["failed_stage"] == "ingest"
    assert reason in final["failure_reason"]
    # and exactly one summary.failed event says so (recorded just after the status changes)
    deadline = time.monotonic() + 10
    while not events_of(stack, session["session_id"], "summary.failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    [event] = events_of(stack, session["session_id"], "summary.failed")
    assert reason in event["payload"]


def test_good_upload_fans_out_with_metadata(integrator: ApiClient, stack: LocalStack) -> None:
    session = integrator.create_session()
    recording_id = integrator.upload(
        session["session_id"], wav_bytes(2.5), filename="ok.wav", content_type="audio/wav"
    )
    final = integrator.wait(recording_id, {"FAILED", "PROCESSING"}, timeout=60)
    assert final["status"] == "PROCESSING", final
    assert final["duration_seconds"] == pytest.approx(2.5, abs=0.01)
    assert (final["channels"], final["sample_rate"], final["per_channel"]) == (1, 16000, False)
    assert len(events_of(stack, session["session_id"], "recording.uploaded")) == 1


def test_recording_waits_for_session_end_without_auto_start(integrator: ApiClient) -> None:
    # GIVEN a session that does not start processing on its own
    session = integrator.create_session(auto_start_recording=False)
    recording_id = integrator.upload(
        session["session_id"], wav_bytes(1.0), filename="a.wav", content_type="audio/wav"
    )
    # WHEN the upload is checked THEN it waits, uploaded
    assert (
        integrator.wait(recording_id, {"UPLOADED", "FAILED", "PROCESSING"}, timeout=60)["status"]
        == "UPLOADED"
    )
    # WHEN the session ends THEN processing starts
    assert integrator.call("POST", f"/v1/sessions/{session['session_id']}/end").status_code == 200
    assert integrator.wait(recording_id, {"PROCESSING", "FAILED"}, timeout=30)["status"] == "PROCESSING"


def test_upload_after_end_starts_processing(integrator: ApiClient) -> None:
    session = integrator.create_session(auto_start_recording=False)
    assert integrator.call("POST", f"/v1/sessions/{session['session_id']}/end").status_code == 200
    recording_id = integrator.upload(
        session["session_id"], wav_bytes(1.0), filename="a.wav", content_type="audio/wav"
    )
    assert integrator.wait(recording_id, {"PROCESSING", "FAILED"}, timeout=60)["status"] == "PROCESSING"


def test_grant_refuses_unaccepted_content_type(integrator: ApiClient) -> None:
    session = integrator.create_session()
    response = integrator.call(
        "POST",
        f"/v1/sessions/{session['session_id']}/recordings",
        json={"filename": "x.exe", "content_type": "application/x-msdownload"},
    )
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "content_type"


def boom(
    source: Any, recording: dict[str, Any], session: dict[str, Any], chunk: Any = None
) -> dict[str, Any]:
    raise RuntimeError("diarization model exploded")


def test_stage_failing_every_attempt_ends_failed_with_stage_named() -> None:
    # GIVEN a diarize stage that raises on every attempt
    failing = sqs_handler("diarize", lambda record: run_analysis(record, replace(DIARIZE, compute=boom)))
    with LocalStack(functions={"ingest", "diarize", "failures"}, handlers={"diarize": failing}) as stack:
        integrator = integrator_for(stack)
        session = integrator.create_session()
        # WHEN a good recording goes in
        recording_id = integrator.upload(
            session["session_id"], wav_bytes(1.0), filename="a.wav", content_type="audio/wav"
        )
        # THEN after maxReceiveCount attempts the DLQ handler fails it, naming the stage and the error
        final = integrator.wait(recording_id, {"FAILED", "COMPLETED"}, timeout=90)
        assert final["status"] == "FAILED"
        assert final["failed_stage"] == "diarize"
        assert "diarize stage failed after 3 attempts" in final["failure_reason"]
        assert "diarization model exploded" in final["failure_reason"]
        assert final["stages"]["diarize"]["attempts"] == 3
        deadline = time.monotonic() + 10
        while not events_of(stack, session["session_id"], "summary.failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(events_of(stack, session["session_id"], "summary.failed")) == 1
