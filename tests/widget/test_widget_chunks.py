"""The processing view of a long recording (issue 19): the page counts each analysis stage's parts.

The stack cuts recordings into 5-second chunks, so a 15-second upload is several transcribe and
diarize jobs. Their computes are fixed (a word per second, two turns per chunk) and held at a gate,
so the page can be seen mid-way: the test is about what the page shows, not about the models, and
the orchestration around the computes (chunk jobs, done counts, merge, fan-in, summary) is the
real one. The recording goes in through the integrator's presigned POST; the host's page then picks
it up as it does after a reload (recording in the browser is test_widget_pipeline.py's subject).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from agentflow.local.stack import LocalStack
from agentflow.schemas.messages import ChunkSpan
from agentflow.stages.analysis import Analysis, run_analysis
from agentflow.stages.batch import sqs_handler
from agentflow.stages.diarize import DIARIZE
from agentflow.stages.transcribe import TRANSCRIBE
from playwright.sync_api import Page, expect

from tests import fixed_analysis as fixed
from tests.pipeline.support import integrator_for
from tests.pipeline.test_ingest import wav_bytes

from .support import screenshot, wait_until

CHUNK_SECONDS = 5
RECORDING_SECONDS = 15.0
GATE_SECONDS = 120.0  # a held job gives up after this (the test releases it long before)


@dataclass
class Gate:
    """Lets the first ``free`` transcribe chunks through, holds the rest (and every diarize job)."""

    free: int = 1
    opened: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    passed: int = 0

    def hold(self) -> None:
        if not self.opened.wait(GATE_SECONDS):
            raise TimeoutError("the test never opened the gate")

    def transcribe_chunk(self) -> None:
        with self.lock:
            self.passed += 1
            through = self.passed <= self.free
        if not through:
            self.hold()


def _gated_transcript(
    gate: Gate,
    source: Any,
    recording: dict[str, Any],
    session: dict[str, Any],
    chunk: ChunkSpan | None = None,
) -> dict[str, Any]:
    """The fixed transcript of a chunk, once the gate lets the chunk through."""
    gate.transcribe_chunk()
    return fixed.transcript(source, recording, session, chunk)


def _held(handler: Callable[[dict[str, Any], Any], Any], gate: Gate) -> Callable[[dict[str, Any], Any], Any]:
    """``handler`` once the gate opens: until then its jobs wait, and the stage stays QUEUED."""

    def invoke(event: dict[str, Any], context: Any) -> Any:
        gate.hold()
        return handler(event, context)

    return invoke


def _parts_done(recording: dict[str, Any], stage: str) -> int | None:
    chunks = (recording["stages"].get(stage) or {}).get("chunks") or {}
    done: int | None = chunks.get("done")
    return done


def _handlers(gate: Gate) -> dict[str, Any]:
    transcribe = replace(
        TRANSCRIBE, compute=functools.partial(_gated_transcript, gate), merge=fixed.merge_transcripts
    )
    diarize = replace(DIARIZE, compute=fixed.diarization, merge=fixed.merge_diarizations)

    def handler(analysis: Analysis) -> Any:
        return sqs_handler(analysis.stage, functools.partial(run_analysis, analysis=analysis))

    return {"transcribe": handler(transcribe), "diarize": _held(handler(diarize), gate)}


@pytest.mark.browser
@pytest.mark.slow  # the whole pipeline runs (fixed computes)
def test_processing_view_counts_the_parts_of_a_long_recording(page: Page) -> None:
    gate = Gate(free=1)
    try:
        with LocalStack(handlers=_handlers(gate), environment={"CHUNK_SECONDS": str(CHUNK_SECONDS)}) as stack:
            api = integrator_for(stack)
            created = api.create_session(host={"name": "Ada Lovelace"}, client={"name": "Grace Hopper"})
            # GIVEN a 15-second recording, cut into 5-second parts
            rid = api.upload(
                created["session_id"],
                wav_bytes(RECORDING_SECONDS),
                filename="long.wav",
                content_type="audio/wav",
            )
            # … one part transcribed and the others held, diarization not started
            current = wait_until(
                lambda: _parts_done(r := api.recording(rid), "transcribe") == 1 and r,
                timeout=60,
                what=lambda: f"one transcribed part; stages {api.recording(rid)['stages']}",
            )
            total = current["stages"]["transcribe"]["chunks"]["total"]
            assert total >= math.ceil(RECORDING_SECONDS / CHUNK_SECONDS), current["stages"]
            assert current["stages"]["diarize"]["status"] == "QUEUED", current["stages"]

            # WHEN the host opens the page (as after a reload during processing)
            page.goto(created["widget_urls"]["host"])
            main = page.locator("main")
            expect(main).to_have_attribute("data-state", "processing", timeout=30_000)
            # THEN each analysis stage says, in words, how many of its parts are done
            stages = page.get_by_role("list", name="Processing stages")
            transcribe = stages.locator("li[data-stage=transcribe]")
            diarize = stages.locator("li[data-stage=diarize]")
            expect(transcribe).to_have_text(f"transcribe: running — 1 of {total} parts")
            expect(diarize).to_have_text(f"diarize: waiting to start — 0 of {total} parts")
            # and a bar shows the same to the eye, hidden from screen readers (the text says it)
            bar = transcribe.locator("progress")
            expect(bar).to_have_attribute("max", str(total))
            expect(bar).to_have_attribute("value", "1")
            expect(bar).to_have_attribute("aria-hidden", "true")
            expect(stages.locator("li").first).to_have_attribute("data-stage", "transcribe")
            screenshot(page, "processing-parts")

            # WHEN the held jobs run
            gate.opened.set()
            # THEN the page ends with every part counted, the summary (one job) without parts, and the PDF
            expect(main).to_have_attribute("data-state", "done", timeout=60_000)
            expect(transcribe).to_have_text(
                re.compile(rf"^transcribe: done — {total} of {total} parts \(\d+\.\d s\)$")
            )
            expect(diarize).to_contain_text(f"diarize: done — {total} of {total} parts")
            expect(stages.locator("li[data-stage=summarize]")).to_have_text(
                re.compile(r"^summarize: done \(\d+\.\d s\)$")
            )
            expect(stages.locator("li[data-stage=summarize] progress")).to_have_count(0)
            expect(page.get_by_role("link", name="Open the signed summary (PDF)")).to_be_visible(
                timeout=30_000
            )
            final = api.recording(rid)
            for stage in ("transcribe", "diarize"):
                assert final["stages"][stage]["chunks"] == {"total": total, "done": total}
    finally:
        gate.opened.set()  # a failed test must not leave poller threads waiting
