"""Load, bounded for the test command: correctness under concurrency, not speed.

- Pipeline: N = 8 sessions uploading a 3-4 s real clip at once → 8 signed summaries that verify,
  8 ``summary.ready`` deliveries, none lost, none twice.
- API: 500 session creates from 20 concurrent clients → 500 × 201, 500 distinct sessions, all
  listed. (2,000 creates take about two minutes on this machine: ``benchmarks/load.py`` runs those
  and the 50-session pipeline load, and measures; see docs/RELIABILITY.md.)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack

from tests.pipeline.support import integrator_for, session_items

from .support import Receiver, queue_depths, wait_drained, wait_for

pytestmark = pytest.mark.slow

N_SESSIONS = 8
CREATES, CLIENTS = 500, 20


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The whole local pipeline and API."""
    with LocalStack() as running:
        yield running


def test_concurrent_sessions_all_end_signed_none_lost(
    stack: LocalStack, clips: list[Path], receiver: Receiver
) -> None:
    # GIVEN N sessions, each created and uploaded from its own thread at the same time
    api = integrator_for(stack, "load-pipeline")

    def one(i: int) -> tuple[str, str]:
        clip = clips[i % len(clips)]
        sid = str(api.create_session(webhook_url=receiver.url)["session_id"])
        return sid, api.upload(sid, clip, filename=clip.name, content_type="audio/wav")

    with ThreadPoolExecutor(max_workers=N_SESSIONS) as pool:
        uploads = dict(pool.map(one, range(N_SESSIONS)))
    # WHEN the pipeline has worked through them
    finals = {sid: api.wait(rid, timeout=900) for sid, rid in uploads.items()}
    wait_for(
        lambda: all(receiver.types(sid)["summary.ready"] >= 1 for sid in uploads),
        timeout=600,  # bounded, but generous: the deliveries queue behind the CPU-bound stages
        what="summary.ready for every session",
    )
    wait_drained(stack, timeout=90)
    # THEN every one completed with one summary whose signature verifies
    assert Counter(f["status"] for f in finals.values()) == Counter({"COMPLETED": N_SESSIONS})
    with httpx.Client(base_url=stack.api_url, headers=api.headers, timeout=60) as http:
        for sid in uploads:
            assert len(session_items(stack, sid, "SUMMARY#")) == 1
            signed = http.get(f"/v1/sessions/{sid}/summary").json()
            check = http.post(
                "/v1/signatures/verify", json={k: signed[k] for k in ("summary", "signature", "pdf_sha256")}
            ).json()
            assert check == {"valid": True, "reasons": []}, (sid, check)
            # and exactly one summary.ready reached the receiver
            assert receiver.types(sid)["summary.ready"] == 1
    assert set(queue_depths(stack).values()) == {0}


def _create_all(api_url: str, key: str, count: int) -> list[tuple[int, Any]]:
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        results = []
        for _ in range(count):
            response = http.post("/v1/sessions", json={"host": {"name": "A"}, "client": {"name": "B"}})
            results.append((response.status_code, response.json().get("session_id")))
        return results


def test_concurrent_session_creates_all_succeed_and_are_all_listed(stack: LocalStack) -> None:
    # GIVEN 20 clients, each with its own connection
    api: ApiClient = integrator_for(stack, "load-api")
    results: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def client(count: int) -> None:
        got = _create_all(stack.api_url, api.api_key, count)
        with lock:
            results.extend(got)

    # WHEN they create 500 sessions at once
    threads = [threading.Thread(target=client, args=(CREATES // CLIENTS,)) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads)
    # THEN every create answered 201 with its own session
    assert Counter(code for code, _ in results) == Counter({201: CREATES})
    created = {sid for _, sid in results}
    assert len(created) == CREATES
    # and the list API pages through exactly those
    listed: set[str] = set()
    cursor: str | None = None
    for _ in range(CREATES // 100 + 2):
        page = api.expect(
            200, "GET", "/v1/sessions", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
        )
        listed |= {s["session_id"] for s in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert listed == created
