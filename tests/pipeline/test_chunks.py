"""Chunk jobs (issue 19): a long recording fans out per chunk and back in, exactly once.

The transcribe and diarize stages here run the real orchestration (``stages.analysis``: chunk
jobs, the done sets, the merge, the fan-in) with fixed computes, so the test is about the
orchestration: the models' own chunk and merge functions are tested in tests/speech.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from agentflow.aws.clients import client, table
from agentflow.errors import PermanentStageError
from agentflow.local.runner import DUPLICATE_ATTRIBUTE, RunnerOptions, load_handler
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template
from agentflow.schemas.messages import ChunkSpan
from agentflow.services import recordings as recs
from agentflow.stages.analysis import Analysis, run_analysis
from agentflow.stages.diarize import DIARIZE
from agentflow.stages.transcribe import TRANSCRIBE

from tests.pipeline.support import events_of, integrator_for
from tests.pipeline.test_ingest import wav_bytes

pytestmark = pytest.mark.slow

CHUNK_SECONDS = 10.0


class Calls:
    """The computes and merges the stages ran, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.computed: Counter[tuple[str, int]] = Counter()
        self.merged: Counter[str] = Counter()

    def compute(self, stage: str, chunk: ChunkSpan | None) -> None:
        with self.lock:
            self.computed[(stage, -1 if chunk is None else chunk.index)] += 1

    def merge(self, stage: str) -> None:
        with self.lock:
            self.merged[stage] += 1


def _transcript(
    calls: Calls,
    source: Any,
    recording: dict[str, Any],
    session: dict[str, Any],
    chunk: ChunkSpan | None = None,
) -> dict[str, Any]:
    """One word per second of the chunk, naming the chunk."""
    calls.compute("transcribe", chunk)
    start, end = (chunk.start, chunk.end) if chunk else (0.0, float(recording["duration_seconds"]))
    second = max(math.ceil(start), 1)
    words = []
    while second < end:
        words.append(
            {
                "start": float(second),
                "end": second + 0.4,
                "word": f"w{second}",
                "probability": 0.9,
                "channel": 0,
            }
        )
        second += 1
    return {
        "language": "en",
        "language_probability": 1.0,
        "duration": float(recording["duration_seconds"]),
        "channels": 1,
        "model": "fixed",
        "segments": [
            {"id": 0, "start": start, "end": end, "text": " ".join(w["word"] for w in words), "channel": 0}
        ],
        "words": words,
        "span": {"start": start, "end": end},
    }


def _merge_transcripts(
    calls: Calls, parts: list[dict[str, Any]], recording: dict[str, Any], session: dict[str, Any]
) -> dict[str, Any]:
    calls.merge("transcribe")
    merged = dict(parts[0])
    merged["words"] = [w for p in parts for w in p["words"]]
    merged["segments"] = [dict(s, id=i) for i, s in enumerate(s for p in parts for s in p["segments"])]
    merged["order"] = [p["span"]["start"] for p in parts]
    merged.pop("span")
    return merged


def _diarization(
    calls: Calls,
    source: Any,
    recording: dict[str, Any],
    session: dict[str, Any],
    chunk: ChunkSpan | None = None,
) -> dict[str, Any]:
    calls.compute("diarize", chunk)
    start, end = (chunk.start, chunk.end) if chunk else (0.0, float(recording["duration_seconds"]))
    half = (start + end) / 2
    turns = [
        {"start": start, "end": half, "speaker": "SPEAKER_00"},
        {"start": half, "end": end, "speaker": "SPEAKER_01"},
    ]
    duration = float(recording["duration_seconds"])
    return {
        "mode": "pipeline",
        "duration": duration,
        "speakers": ["SPEAKER_00", "SPEAKER_01"],
        "turns": turns,
        "exclusive": turns,
    }


def _merge_diarizations(
    calls: Calls, parts: list[dict[str, Any]], recording: dict[str, Any], session: dict[str, Any]
) -> dict[str, Any]:
    calls.merge("diarize")
    turns = [t for p in parts for t in p["turns"]]
    return dict(parts[0], turns=turns, exclusive=turns)


def _fixed(calls: Calls) -> dict[str, Analysis]:
    return {
        "transcribe": replace(
            TRANSCRIBE,
            compute=functools.partial(_transcript, calls),
            merge=functools.partial(_merge_transcripts, calls),
        ),
        "diarize": replace(
            DIARIZE,
            compute=functools.partial(_diarization, calls),
            merge=functools.partial(_merge_diarizations, calls),
        ),
    }


def _handlers(analyses: dict[str, Analysis]) -> dict[str, Any]:
    from agentflow.stages.batch import sqs_handler

    return {
        stage: sqs_handler(stage, functools.partial(run_analysis, analysis=a))
        for stage, a in analyses.items()
    }


def _artifact(stack: LocalStack, rid: str, name: str) -> dict[str, Any]:
    body = client("s3").get_object(Bucket=stack.ref("RecordingsBucket"), Key=f"artifacts/{rid}/{name}")[
        "Body"
    ]
    result: dict[str, Any] = json.loads(body.read())
    return result


def _item(stack: LocalStack, tenant_id: str, rid: str) -> dict[str, Any]:
    pk, sk = recs.recording_key(tenant_id, rid)
    item: dict[str, Any] = table(stack.ref("Table")).get_item(Key={"pk": pk, "sk": sk})["Item"]
    return item


def test_a_long_recording_fans_out_per_chunk_and_back_in_once_despite_duplicates() -> None:
    # GIVEN chunks of 10 s, and a runner that delivers every message twice in shuffled order
    calls = Calls()
    template = load_template()
    real_summarize = load_handler(template.functions["SummarizeFunction"].handler_path)
    summarize_jobs: Counter[str] = Counter()

    def counting(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            if DUPLICATE_ATTRIBUTE not in record["messageAttributes"]:
                summarize_jobs[json.loads(record["body"])["recording_id"]] += 1
        result: dict[str, Any] = real_summarize(event, context)
        return result

    handlers = {**_handlers(_fixed(calls)), "summarize": counting}
    with LocalStack(
        options=RunnerOptions(duplicate_delivery=True),
        handlers=handlers,
        environment={"CHUNK_SECONDS": str(CHUNK_SECONDS)},
    ) as stack:
        api = integrator_for(stack)
        session = api.create_session()
        sid = session["session_id"]
        # WHEN a 35 s recording goes in
        rid = api.upload(sid, wav_bytes(35.0), filename="long.wav", content_type="audio/wav")
        final = api.wait(rid, timeout=120)
        threading.Event().wait(2)  # let the last duplicates drain
        # THEN it was planned as 4 chunks that cover it, cut no longer than 10 s
        assert final["status"] == "COMPLETED", final
        item = _item(stack, _tenant_of(stack, rid), rid)
        plan = recs.recording_chunks(item)
        assert len(plan) == 4 and plan[0].start == 0.0 and plan[-1].end == pytest.approx(35.0)
        assert all(b.start == a.end for a, b in itertools.pairwise(plan))
        assert all(c.end - c.start <= CHUNK_SECONDS for c in plan)
        # and each stage ran every chunk (a duplicate may recompute one: never a whole recording)
        for stage in ("transcribe", "diarize"):
            assert {i for (s, i) in calls.computed if s == stage} == {0, 1, 2, 3}
            assert final["stages"][stage]["status"] == "DONE"
            assert final["stages"][stage]["chunks"] == {"total": 4, "done": 4}
            assert calls.merged[stage] >= 1
        # and the merged artifacts hold the chunks in order
        transcript = _artifact(stack, rid, "transcript.json")
        assert transcript["order"] == [c.start for c in plan]
        assert [w["word"] for w in transcript["words"]] == [f"w{s}" for s in range(1, 35)]
        # and the fan-in sent exactly one summarize job, and one of each event
        assert summarize_jobs == Counter({rid: 1})
        for event_type in ("recording.uploaded", "transcript.ready", "summary.ready"):
            assert len(events_of(stack, sid, event_type)) == 1, event_type


def _tenant_of(stack: LocalStack, rid: str) -> str:
    items = table(stack.ref("Table")).scan()["Items"]
    return next(
        str(i["tenant_id"]) for i in items if i.get("recording_id") == rid and i.get("entity") == "recording"
    )


def test_a_chunk_that_fails_for_good_fails_the_recording_naming_the_stage_and_the_chunk() -> None:
    # GIVEN diarization that cannot do the second chunk
    calls = Calls()
    analyses = _fixed(calls)

    def refuse(
        source: Any, recording: dict[str, Any], session: dict[str, Any], chunk: ChunkSpan | None = None
    ) -> dict[str, Any]:
        if chunk is not None and chunk.index == 1:
            raise PermanentStageError("the audio in this span is unreadable")
        return _diarization(calls, source, recording, session, chunk)

    analyses["diarize"] = replace(analyses["diarize"], compute=refuse)
    with LocalStack(handlers=_handlers(analyses), environment={"CHUNK_SECONDS": str(CHUNK_SECONDS)}) as stack:
        api = integrator_for(stack)
        sid = api.create_session()["session_id"]
        rid = api.upload(sid, wav_bytes(25.0), filename="long.wav", content_type="audio/wav")
        final = api.wait(rid, timeout=120)
        # THEN the recording is FAILED in diarize, the reason naming the chunk and its span
        assert final["status"] == "FAILED" and final["failed_stage"] == "diarize"
        assert final["failure_reason"].startswith("Chunk 2 of 3 (")
        assert "unreadable" in final["failure_reason"]
        deadline = time.monotonic() + 10
        while not events_of(stack, sid, "summary.failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(events_of(stack, sid, "summary.failed")) == 1


def test_a_short_recording_is_one_chunk_as_before() -> None:
    calls = Calls()
    with LocalStack(
        handlers=_handlers(_fixed(calls)), environment={"CHUNK_SECONDS": str(CHUNK_SECONDS)}
    ) as stack:
        api = integrator_for(stack)
        sid = api.create_session()["session_id"]
        rid = api.upload(sid, wav_bytes(8.0), filename="short.wav", content_type="audio/wav")
        final = api.wait(rid, timeout=120)
        assert final["status"] == "COMPLETED", final
        # one whole-recording job per stage, no merge, no chunk artifacts
        assert calls.computed == Counter({("transcribe", -1): 1, ("diarize", -1): 1})
        assert calls.merged == Counter()
        assert final["stages"]["transcribe"]["chunks"] == {"total": 1, "done": 1}
        listed = client("s3").list_objects_v2(
            Bucket=stack.ref("RecordingsBucket"), Prefix=f"artifacts/{rid}/chunks/"
        )
        assert listed.get("KeyCount", 0) == 0


def test_the_dead_letter_of_a_chunk_job_names_the_chunk(tmp_path: Path) -> None:
    from agentflow.stages.failures import dead_letter_of

    job = recs._job(
        {"recording_id": "rec_1", "tenant_id": "ten_1", "session_id": "ses_1"},
        "transcribe",
        ChunkSpan(index=2, start=1200.0, end=1800.0),
        total=12,
    )
    letter = dead_letter_of(job.model_dump_json())
    assert letter.stage == "transcribe" and letter.chunk == 2
    assert letter.where == "chunk 3 of 12 (1200-1800 s)"
    assert job.job_id == "rec_1:transcribe:2"


def test_real_models_on_a_chunked_recording_read_by_ranged_gets(data_dir: Path) -> None:
    # GIVEN the real stages and chunks of 16 s: dev00 (30 s, two people) is two chunks
    with LocalStack(environment={"CHUNK_SECONDS": "16"}) as stack:
        api = integrator_for(stack)
        sid = api.create_session(host={"name": "Dana"}, client={"name": "Eli"})["session_id"]
        rid = api.upload(sid, data_dir / "dev00.wav", filename="dev00.wav", content_type="audio/wav")
        final = api.wait(rid, timeout=900)
        # THEN both stages ran two chunk jobs, merged, and the summary was signed
        assert final["status"] == "COMPLETED", final
        for stage in ("transcribe", "diarize"):
            assert final["stages"][stage]["chunks"] == {"total": 2, "done": 2}
        transcript = _artifact(stack, rid, "transcript.json")
        diarization = _artifact(stack, rid, "diarization.json")
        cut = float(recs.recording_chunks(_item(stack, _tenant_of(stack, rid), rid))[0].end)
        # one transcript with words on both sides of the cut, in order, none after the end
        starts = [w["start"] for w in transcript["words"]]
        assert starts == sorted(starts) and len(starts) > 40
        assert min(starts) < cut < max(starts) <= 30.0
        # one diarization, clustered once: two people, turns on both sides of the cut
        assert diarization["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
        assert {t["speaker"] for t in diarization["turns"] if t["start"] > cut} <= set(
            diarization["speakers"]
        )
        signed = api.expect(200, "GET", f"/v1/sessions/{sid}/summary")
        assert len(signed["summary"]["transcript"]) >= 2
