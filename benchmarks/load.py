"""Load on the local stack: concurrent sessions through the whole pipeline, and API session creates.

Pipeline: ``--sessions`` sessions (default 50), each created and uploaded from its own thread at
once, each a 3-4 s real speech clip cut from the shared recordings; every recording must reach
COMPLETED with a summary whose signature verifies, and one ``summary.ready`` delivery to a local
receiver. Reports the wall time from the first upload to the last delivery, throughput, and
per-recording latency. Baseline in the same run: one recording alone on the same warm stack.

API: ``--creates`` session creates (default 2,000) from ``--clients`` concurrent clients (default
20), each with its own keep-alive connection; p50/p99/max latency, throughput, errors. Baseline:
``--creates // 10`` creates from one client.

The local stack runs every stage in one process (one poller per queue, as one Lambda concurrency
each), on a shared 2-core machine: compare ratios within a run. Usage:
``python benchmarks/load.py [--sessions 50] [--creates 2000] [--clients 20] [--skip-pipeline] [--skip-api]
[--moto-process]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from agentflow.aws.clients import table
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack, free_port
from agentflow.services.tenants import create_tenant_service
from agentflow.speech.audio import SAMPLE_RATE, decode

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
CLIPS = (("sample.wav", 14.4, 18.0), ("sample.wav", 17.8, 21.5), ("jfk.flac", 0.3, 4.3),
         ("dev00.wav", 1.5, 5.0), ("dev01.wav", 7.0, 10.5))  # fmt: skip
SESSION_BODY = {"host": {"name": "Ana"}, "client": {"name": "Ben"}}


def cut(source: Path, start: float, end: float, out: Path) -> Path:
    """A 16 kHz mono 16-bit WAV of ``[start, end)`` seconds of ``source``."""
    pcm = decode(source)[0][int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    return out


class Receiver:
    """Webhook receiver on 127.0.0.1: the time each session's summary.ready arrived."""

    def __init__(self) -> None:
        self.ready: dict[str, float] = {}
        self.duplicates = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if event["type"] == "summary.ready":
                    with outer.lock:
                        sid = event["data"]["session_id"]
                        outer.duplicates += sid in outer.ready
                        outer.ready.setdefault(sid, time.perf_counter())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def run_sessions(
    stack: LocalStack, api: ApiClient, clips: list[Path], n: int, receiver: Receiver
) -> dict[str, Any]:
    """Upload ``n`` recordings at once; wait for all; check every signature; return the figures."""
    started: dict[str, float] = {}
    errors: list[str] = []

    def one(i: int) -> str:
        clip = clips[i % len(clips)]
        sid = str(api.create_session(**SESSION_BODY, webhook_url=receiver.url)["session_id"])
        started[sid] = time.perf_counter()
        api.upload(sid, clip, filename=clip.name, content_type="audio/wav")
        return sid

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(n, 50)) as pool:
        sids = list(pool.map(one, range(n)))
    uploaded = time.perf_counter() - t0
    deadline = time.monotonic() + 60 * 60
    while any(s not in receiver.ready for s in sids) and time.monotonic() < deadline:
        time.sleep(0.5)
    wall = max(receiver.ready.get(s, time.perf_counter()) for s in sids) - t0
    verified = 0
    with httpx.Client(base_url=stack.api_url, headers=api.headers, timeout=60) as http:
        for sid in sids:
            signed = http.get(f"/v1/sessions/{sid}/summary")
            if signed.status_code != 200:
                errors.append(f"{sid}: summary {signed.status_code}")
                continue
            body = signed.json()
            check = http.post(
                "/v1/signatures/verify", json={k: body[k] for k in ("summary", "signature", "pdf_sha256")}
            ).json()
            verified += bool(check["valid"])
    latencies = [receiver.ready[s] - started[s] for s in sids if s in receiver.ready]
    return {
        "sessions": n,
        "completed": len(latencies),
        "verified": verified,
        "duplicate_deliveries": receiver.duplicates,
        "errors": errors,
        "upload_phase_s": round(uploaded, 2),
        "wall_s": round(wall, 1),
        "recordings_per_min": round(60 * len(latencies) / wall, 2),
        "latency_p50_s": round(pct(latencies, 50), 1) if latencies else None,
        "latency_p99_s": round(pct(latencies, 99), 1) if latencies else None,
    }


def api_load(api_url: str, key: str, creates: int, clients: int) -> dict[str, Any]:
    """``creates`` POST /v1/sessions from ``clients`` threads, one keep-alive connection each."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    ids: set[str] = set()
    lock = threading.Lock()
    per_client = [creates // clients + (i < creates % clients) for i in range(clients)]

    def client_loop(count: int) -> None:
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            for _ in range(count):
                t = time.perf_counter()
                try:
                    response = http.post("/v1/sessions", json=SESSION_BODY)
                    code = response.status_code
                    sid = response.json().get("session_id") if code == 201 else None
                except httpx.HTTPError:
                    code, sid = -1, None
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    statuses[code] = statuses.get(code, 0) + 1
                    if sid:
                        ids.add(sid)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(c,)) for c in per_client]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "creates": creates,
        "clients": clients,
        "statuses": statuses,
        "errors": creates - statuses.get(201, 0),
        "distinct_ids": len(ids),
        "wall_s": round(wall, 2),
        "per_s": round(creates / wall, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 1),
        "p99_ms": round(pct(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def start_moto_process() -> subprocess.Popen[bytes]:
    """moto in a process of its own (not a thread beside the API), for ``--moto-process``."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"  # LocalStack then uses it
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--moto-process", action="store_true", help="run moto in its own process")
    args = parser.parse_args()
    print(
        f"load benchmark, {datetime.now(UTC).isoformat(timespec='seconds')}, moto in "
        f"{'its own process' if args.moto_process else 'a thread of this process'}"
    )
    moto = start_moto_process() if args.moto_process else None
    with tempfile.TemporaryDirectory() as tmp:
        clips = [cut(DATA / name, s, e, Path(tmp) / f"clip{i}.wav") for i, (name, s, e) in enumerate(CLIPS)]
        with LocalStack(pollers=not args.skip_pipeline) as stack:
            tenants = create_tenant_service(table(stack.ref("Table")))
            if not args.skip_api:
                key = tenants.create_tenant("load-api").api_key
                api_load(stack.api_url, key, 100, args.clients)  # warm-up: connections, imports
                base = api_load(stack.api_url, key, max(args.creates // 10, 1), 1)
                load = api_load(stack.api_url, key, args.creates, args.clients)
                print(f"API baseline, 1 client : {json.dumps(base)}")
                print(f"API load, {args.clients} clients: {json.dumps(load)}")
                print(
                    f"  throughput x{load['per_s'] / base['per_s']:.2f} of one client; "
                    f"p50 x{load['p50_ms'] / base['p50_ms']:.1f}, p99 x{load['p99_ms'] / base['p99_ms']:.1f}"
                )
            if not args.skip_pipeline:
                api = ApiClient(api_url=stack.api_url, api_key=tenants.create_tenant("load-pipeline").api_key)
                receiver = Receiver()
                t = time.perf_counter()
                run_sessions(stack, api, clips, 1, Receiver())  # cold: models load here
                print(f"cold start (one recording, models loading): {time.perf_counter() - t:.1f}s")
                single = run_sessions(stack, api, clips, 1, Receiver())
                print(f"pipeline baseline, 1 recording alone: {json.dumps(single)}")
                many = run_sessions(stack, api, clips, args.sessions, receiver)
                print(f"pipeline load, {args.sessions} concurrent: {json.dumps(many)}")
                serial = 60 / single["wall_s"]
                print(
                    f"  throughput {many['recordings_per_min']}/min vs {serial:.2f}/min one at a time "
                    f"(x{many['recordings_per_min'] / serial:.2f}); lost "
                    f"{args.sessions - many['completed']}, signatures verified {many['verified']}/{args.sessions}"
                )
    if moto is not None:
        moto.terminate()
        moto.wait(timeout=30)


if __name__ == "__main__":
    main()
