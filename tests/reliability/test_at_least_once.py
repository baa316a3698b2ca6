"""At-least-once delivery: every SQS message delivered twice, in shuffled order, through the whole
pipeline (real whisper, pyannote, KMS) still yields one summary, one signature and one
``summary.ready`` delivery per recording.

N = 4 sessions, one 3-4 s clip each (``support.CLIPS``).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentflow.local.runner import DUPLICATE_ATTRIBUTE, Handler, RunnerOptions, load_handler
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template

from tests.pipeline.support import events_of, integrator_for, session_items

from .support import Receiver, wait_drained, wait_for

pytestmark = pytest.mark.slow

N_SESSIONS = 4


def _counting(real: Handler, name: str, seen: Counter[str], lock: threading.Lock) -> Handler:
    """Wrap a handler to count the duplicate copies it is given (proof the mode is on)."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        with lock:
            seen[name] += sum(DUPLICATE_ATTRIBUTE in r["messageAttributes"] for r in event["Records"])
        return real(event, context)

    return handler


def test_duplicated_shuffled_delivery_gives_one_summary_signature_and_webhook_each(
    clips: list[Path], receiver: Receiver
) -> None:
    # GIVEN a runner that delivers every message of every queue twice, in shuffled order
    template = load_template()
    duplicates: Counter[str] = Counter()
    lock = threading.Lock()
    handlers = {
        fn.name: _counting(load_handler(fn.handler_path), fn.name, duplicates, lock)
        for fn in template.functions.values()
        if fn.sources
    }
    with LocalStack(options=RunnerOptions(duplicate_delivery=True), handlers=handlers) as stack:
        api = integrator_for(stack, "at-least-once")
        # WHEN N sessions each upload a short real recording
        uploads: dict[str, str] = {}
        for clip in clips[:N_SESSIONS]:
            sid = api.create_session(webhook_url=receiver.url)["session_id"]
            uploads[sid] = api.upload(sid, clip, filename=clip.name, content_type="audio/wav")
        finals = {sid: api.wait(rid, timeout=600) for sid, rid in uploads.items()}
        wait_for(
            lambda: all(receiver.types(sid)["summary.ready"] >= 1 for sid in uploads),
            timeout=60,
            what="a summary.ready delivery per session",
        )
        wait_drained(stack, timeout=90)

        # THEN every recording completed
        assert {sid: f["status"] for sid, f in finals.items()} == dict.fromkeys(uploads, "COMPLETED")
        # and the duplicate mode really delivered copies to every pipeline stage
        for stage in ("ingest", "transcribe", "diarize", "summarize", "webhooks"):
            assert duplicates[stage] > 0, (stage, duplicates)
        for sid, rid in uploads.items():
            # and each session has exactly one summary and one signature, for its recording
            summaries = session_items(stack, sid, "SUMMARY#")
            assert [s["recording_id"] for s in summaries] == [rid]
            assert len(session_items(stack, sid, "SIGNATURE#")) == 1
            # and each event was recorded once, and no failure
            for event_type in ("recording.uploaded", "transcript.ready", "summary.ready"):
                assert len(events_of(stack, sid, event_type)) == 1, (sid, event_type)
            assert events_of(stack, sid, "summary.failed") == []
            # and the receiver got summary.ready exactly once, naming the stored summary
            ready = [b for b in receiver.of_session(sid) if b["type"] == "summary.ready"]
            assert len(ready) == 1, (sid, receiver.types(sid))
            assert ready[0]["data"]["summary_id"] == summaries[0]["summary_id"]
            # and the stored signature verifies
            signed = api.expect(200, "GET", f"/v1/sessions/{sid}/summary")
            check = httpx.post(
                f"{stack.api_url}/v1/signatures/verify",
                json={k: signed[k] for k in ("summary", "signature", "pdf_sha256")},
                timeout=30,
            ).json()
            assert check == {"valid": True, "reasons": []}, check
        # and across all sessions no event id reached the receiver twice
        ids = Counter(b["id"] for sid in uploads for b in receiver.of_session(sid))
        assert [i for i, n in ids.items() if n > 1] == []
        assert sum(json.dumps(b).count('"summary.ready"') for b in receiver.bodies) == N_SESSIONS
