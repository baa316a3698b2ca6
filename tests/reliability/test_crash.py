"""Crash mid-stage: the transcribe worker is a separate process, killed with SIGKILL while it works.

The local AWS (moto), the API and the other stages run in this process; the transcribe pollers run
in ``python -m agentflow.local.runner`` subprocesses that receive with a short visibility timeout
(the template's 5400 s is sized for Lambda). After the kill, the message comes back when that
timeout ends, a fresh worker takes it, and the recording completes from a recomputed artifact:
a torn ``transcript.json`` left where the dead worker would have written it is never taken for a
finished one, because completion is recorded in DynamoDB only after the whole artifact is stored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from agentflow.aws.clients import client
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template

from tests.pipeline.support import events_of, integrator_for, session_items

from .support import Receiver, wait_drained, wait_for

pytestmark = pytest.mark.slow

VISIBILITY_SECONDS = 6


@contextmanager
def worker(stack: LocalStack, log_path: Path, *functions: str) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process polling ``functions``' queues of ``stack``; SIGTERMed on exit if alive."""
    env = {**os.environ, **stack.worker_environment()}
    args = ["--functions", ",".join(functions), "--visibility-seconds", str(VISIBILITY_SECONDS)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentflow.local.runner", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_sigkilled_transcribe_worker_is_replaced_and_the_recording_completes(
    clips: list[Path], receiver: Receiver, tmp_path: Path
) -> None:
    # GIVEN every stage but transcribe in this process, and transcribe in a worker process
    others = {fn.name for fn in load_template().functions.values() if fn.sources} - {"transcribe"}
    log_path = tmp_path / "workers.log"
    with LocalStack(functions=others) as stack:
        api = integrator_for(stack, "crash")
        sid = api.create_session(webhook_url=receiver.url)["session_id"]
        with worker(stack, log_path, "transcribe") as first:
            rid = api.upload(sid, clips[0], filename="crash.wav", content_type="audio/wav")
            # WHEN the worker is SIGKILLed as soon as it has started transcribing
            wait_for(
                lambda: api.recording(rid)["stages"].get("transcribe", {}).get("status") == "RUNNING",
                timeout=120,
                interval=0.05,
                what="transcribe RUNNING",
            )
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL

        # AND a torn artifact lies where a writer that died midway would have left it
        bucket = stack.ref("RecordingsBucket")
        artifact = f"artifacts/{rid}/transcript.json"
        torn = b'{"language":"en","words":[{"word":"torn","start":0.0,'
        client("s3").put_object(Bucket=bucket, Key=artifact, Body=torn, ContentType="application/json")
        during = api.recording(rid)
        assert during["status"] == "PROCESSING"
        assert during["stages"]["transcribe"]["status"] == "RUNNING"
        assert during["stages"]["transcribe"]["attempts"] == 1
        first_started = datetime.fromisoformat(during["stages"]["transcribe"]["started_at"])

        # AND a fresh worker starts at once
        with worker(stack, log_path, "transcribe"):
            final = api.wait(rid, timeout=600)
            wait_for(lambda: receiver.types(sid)["summary.ready"] >= 1, timeout=60, what="summary.ready")
            wait_drained(stack, timeout=60)
        worker_log = log_path.read_text(errors="replace")

        # THEN the recording completed, transcribe on its second attempt
        assert final["status"] == "COMPLETED", (final, worker_log[-3000:])
        progress = final["stages"]["transcribe"]
        assert progress["status"] == "DONE" and progress["attempts"] == 2, progress
        # and that attempt (the recording's one chunk's second run) began only once the killed
        # worker's message became visible again (the first attempt started a moment after its
        # receive: allow 2 s for that moment)
        assert datetime.fromisoformat(progress["started_at"]) == first_started  # the stage's first start
        item = session_items(stack, sid, "RECORDING#")[0]
        run = item["stages"]["transcribe"]["runs"]["0"]
        assert run["attempts"] == 2 and run["status"] == "DONE"
        second_started = datetime.fromisoformat(run["started_at"])
        waited = (second_started - first_started).total_seconds()
        assert waited >= VISIBILITY_SECONDS - 2, (first_started, second_started)
        # and the torn artifact was replaced by a whole one, which the summary is built on
        stored = client("s3").get_object(Bucket=bucket, Key=artifact)["Body"].read()
        assert stored != torn
        transcript = json.loads(stored)
        assert len(transcript["words"]) > 3
        signed = api.expect(200, "GET", f"/v1/sessions/{sid}/summary")
        spoken = " ".join(u["text"] for u in signed["summary"]["transcript"]).lower()
        assert "chicago" in spoken, spoken
        # and one summary, one signature, one summary.ready (recorded and delivered), no failure
        assert len(session_items(stack, sid, "SUMMARY#")) == 1
        assert len(session_items(stack, sid, "SIGNATURE#")) == 1
        assert len(events_of(stack, sid, "summary.ready")) == 1
        assert receiver.types(sid)["summary.ready"] == 1
        assert events_of(stack, sid, "summary.failed") == []
