"""Per-participant tracks: upload cost per minute of call, and End session → signed summary.

A one-minute two-track call on the local stack (moto + the real API + every stage's poller): each
participant's page sends its microphone as Opus chunks (MediaRecorder-like, live WebM, 32 kbit/s,
one part per ``--timeslice`` seconds) through the track API's presigned PUTs, completes its track,
and the host ends the session. Prints, per participant and minute: parts, payload bytes, requests to
the API and to S3 (the browser's PUTs and the server's own S3 calls, counted on the boto3 client);
and the seconds from ``POST …/end`` to the signed summary (``GET …/summary`` answering 200), each
run a fresh session (the first run includes loading the models).

Run: ``.venv/bin/python benchmarks/tracks.py [--runs N] [--timeslice S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from agentflow.aws.clients import client, table
from agentflow.local.client import ApiClient, ApiError
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from agentflow.services.tracks import tracks_recording_id
from agentflow.speech.audio import SAMPLE_RATE, decode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers speak the API as the widget does
from tests.api.support import token_of  # noqa: E402
from tests.services.tracks.support import Browser, chunks_of, opus_stream  # noqa: E402

DATA = ROOT / "tests" / "data"
MINUTE = 60 * SAMPLE_RATE


def _voices() -> tuple[np.ndarray, np.ndarray]:
    """One minute of real speech for each participant (the reference recordings, joined)."""
    host = np.concatenate([decode(DATA / "sample.wav")[0], decode(DATA / "dev00.wav")[0]])[:MINUTE]
    guest = np.concatenate([decode(DATA / "dev01.wav")[0], decode(DATA / "sample.wav")[0]])[:MINUTE]
    return host, guest


def _s3_counter() -> Counter[str]:
    counts: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        counts[event_name.rsplit(".", 1)[-1]] += 1

    client("s3").meta.events.register("before-call.s3.*", count)
    return counts


def one_call(stack: LocalStack, voices: tuple[np.ndarray, np.ndarray], *, timeslice: float) -> dict[str, Any]:
    """Run one call; return its counts and timing."""
    tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("bench")
    api = ApiClient(api_url=stack.api_url, api_key=tenant.api_key)
    session = api.create_session(host={"name": "Dana"}, client={"name": "Eli"})
    sid = session["session_id"]
    pages = [Browser(stack.api_url, sid, token_of(session["widget_urls"][r])) for r in ("host", "client")]
    started = int(time.time() * 1000) - 61_000
    per_page = []
    for page, pcm in zip(pages, voices, strict=True):
        chunks = chunks_of(opus_stream(pcm), seconds=pcm.shape[0] / SAMPLE_RATE, chunk_seconds=timeslice)
        opened = page.open_track(started_at_server_ms=started, timeslice_ms=int(timeslice * 1000))
        track = opened.json()["track_id"]
        api_calls = 1
        for number, chunk in enumerate(chunks, start=1):
            assert page.upload(track, {number: chunk}) == [200]
            api_calls += 1
        assert page.complete(track, len(chunks)).status_code == 200
        api_calls += 1
        per_page.append({"parts": len(chunks), "bytes": sum(map(len, chunks)), "api_calls": api_calls})
    server_s3 = _s3_counter()
    ended = time.perf_counter()
    api.expect(200, "POST", f"/v1/sessions/{sid}/end")
    deadline = time.monotonic() + 900
    while True:
        try:
            api.expect(200, "GET", f"/v1/sessions/{sid}/summary")
            break
        except ApiError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)
    seconds = time.perf_counter() - ended
    recording = api.recording(tracks_recording_id(sid))
    return {
        "pages": per_page,
        "end_to_summary_seconds": round(seconds, 2),
        "server_s3_calls_after_end": dict(server_s3),
        "stages": {k: v.get("seconds") for k, v in recording["stages"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--timeslice", type=float, default=5.0, help="seconds per part (MediaRecorder timeslice)"
    )
    args = parser.parse_args()
    voices = _voices()
    runs = []
    with LocalStack() as stack:
        for _ in range(args.runs):
            runs.append(one_call(stack, voices, timeslice=args.timeslice))
            print(json.dumps({"run": len(runs), **runs[-1]}), file=sys.stderr, flush=True)
    page = runs[0]["pages"][0]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "timeslice_seconds": args.timeslice,
        "per_participant_minute": {
            "parts": page["parts"],
            "payload_bytes": page["bytes"],
            "payload_kbit_per_s": round(page["bytes"] * 8 / 60 / 1000, 1),
            "api_requests": page["api_calls"],
            "s3_put_requests": page["parts"],
        },
        "end_to_signed_summary_seconds": [r["end_to_summary_seconds"] for r in runs],
        "median_warm_seconds": statistics.median(r["end_to_summary_seconds"] for r in runs[1:])
        if len(runs) > 1
        else None,
        "runs": runs,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
