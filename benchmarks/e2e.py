"""End to end: upload to signed summary on the local stack, next to a plain sequential script.

For each recording (the shared 30 s files and a ≥ 10-minute one assembled from them) it reports the
time from upload to COMPLETED, each stage's own seconds, and the process's peak RSS while each stage
ran (transcribe and diarize run concurrently, so their windows overlap). The first run after the
stack starts is "cold" (models load inside it); the rest are "warm". The baseline, in the same
process with the same (already loaded) models, is the obvious script: faster-whisper with the same
options, then pyannote, then the summary — one after the other, no queues, no S3, no signing.

The machine is shared and has 2 cores: compare ratios within a run. Usage:
``python benchmarks/e2e.py [--long-minutes 10] [--skip-long]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import wave
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from agentflow.aws.clients import table
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from agentflow.speech.audio import SAMPLE_RATE, decode

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


class RssSampler(threading.Thread):
    """Samples this process's resident memory every 0.1 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append((time.time(), int(line.split()[1]) * 1024))

    def peak(self, start: float, end: float) -> int:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=0)


def assemble(minutes: float, out: Path) -> Path:
    """A mono 16 kHz WAV of at least ``minutes``, the shared recordings one after another."""
    parts = [decode(DATA / name) for name in ("dev00.wav", "sample.wav", "dev01.wav", "jfk.flac")]
    pieces, total = [], 0
    while total < minutes * 60 * SAMPLE_RATE:
        for part in parts:
            pieces.append(part[0])
            total += part.shape[1]
    audio = np.concatenate(pieces)
    with wave.open(str(out), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return out


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run_pipeline(api: ApiClient, path: Path, sampler: RssSampler) -> dict[str, Any]:
    session = api.create_session()
    started = time.perf_counter()
    rid = api.upload(session["session_id"], path, filename=path.name, content_type="audio/wav")
    final = api.wait(rid, timeout=3600)
    total = time.perf_counter() - started
    if final["status"] != "COMPLETED":
        raise RuntimeError(f"{path.name}: {final['status']} {final.get('failure_reason')}")
    stages = {}
    for name in ("transcribe", "diarize", "summarize"):
        info = final["stages"][name]
        window = (_ts(info["started_at"]), _ts(info["completed_at"]))
        stages[name] = {"seconds": float(info["seconds"]), "peak_rss_mb": sampler.peak(*window) / 2**20}
    return {"total": total, "duration": float(final["duration_seconds"]), "stages": stages}


def run_baseline(path: Path) -> float:
    """faster-whisper, then pyannote, then the summary: sequential, same models, same options."""
    from agentflow.settings import get_settings
    from agentflow.speech import diarize, whisper
    from agentflow.speech.attribution import attribute
    from agentflow.speech.transcribe import DECODE_OPTIONS, VAD_OPTIONS
    from agentflow.workflows import run_summary

    started = time.perf_counter()
    model = whisper.get_model()
    segments, info = model.transcribe(
        str(path), vad_filter=True, vad_parameters=dict(VAD_OPTIONS), **DECODE_OPTIONS
    )
    words = [
        {"start": w.start, "end": w.end, "word": w.word, "probability": w.probability}
        for s in segments
        for w in (s.words or [])
    ]
    result = diarize.diarize(path, num_speakers=2)
    utterances = [u.to_dict() for u in attribute(words, result.to_dict()["exclusive"])]
    speakers = list(dict.fromkeys(u["speaker"] for u in utterances))
    run_summary(
        utterances=utterances,
        participants=[{"name": s, "role": None} for s in speakers],
        language=info.language,
        duration=info.duration,
        spec=None,
        settings=get_settings(),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--skip-long", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = [
            ("sample 30 s (cold)", DATA / "sample.wav"),
            ("sample 30 s", DATA / "sample.wav"),
            ("dev00 30 s", DATA / "dev00.wav"),
        ]
        if not args.skip_long:
            files.append(
                (
                    f"assembled {args.long_minutes:.0f} min",
                    assemble(args.long_minutes, Path(tmp) / "long.wav"),
                )
            )
        sampler = RssSampler()
        sampler.start()
        rows = []
        with LocalStack() as stack:
            tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("bench")
            api = ApiClient(api_url=stack.api_url, api_key=tenant.api_key)
            for label, path in files:
                result = run_pipeline(api, path, sampler)
                baseline = run_baseline(path) if "cold" not in label else None
                rows.append((label, result, baseline))
                print_row(label, result, baseline)
        sampler.stop.set()
    print()
    for label, result, baseline in rows:
        if baseline:
            print(f"{label:22} pipeline/sequential = {result['total'] / baseline:.2f}")


def print_row(label: str, result: dict[str, Any], baseline: float | None) -> None:
    stages = "  ".join(
        f"{name} {info['seconds']:6.1f} s ({info['peak_rss_mb']:5.0f} MB)"
        for name, info in result["stages"].items()
    )
    base = f"  sequential {baseline:6.1f} s" if baseline else ""
    print(
        f"{label:22} audio {result['duration']:6.1f} s  total {result['total']:6.1f} s  {stages}{base}",
        flush=True,
    )


if __name__ == "__main__":
    main()
