"""End to end: upload to signed summary on the local stack, next to a plain sequential script.

For each recording (the 30 s reference files, and long two-party conversations built from dev00 and
dev01, ``long_audio.conversation``) it reports the time from upload to COMPLETED, each stage's own
seconds, and the process's peak RSS while each stage ran (transcribe and diarize run concurrently,
so their windows overlap). The first run after the stack starts is "cold" (models load inside it);
the rest are "warm". The baseline, in the same process with the same (already loaded) models, is the
obvious script: faster-whisper with the same options, then pyannote, then the summary — one after
the other, no queues, no S3, no signing (run for recordings up to ``--baseline-max-minutes``).

Long recordings are cut into chunk jobs (issue 19, ``CHUNK_SECONDS``): for them it also reports the
chunks per stage, the longest chunk invocation, the merges (the fan-in: the transcript's seams and
the diarization's one clustering), and the wall time the same run would take in AWS with one
concurrent invocation per chunk — ingest + the longest chunk of either stage + the longer merge +
summarize — stated as such. With ``--isolation thread`` (the default) every function runs in
threads of this process, sharing its GIL with moto and the API, and one invocation at a time per
queue; ``--isolation process`` gives each function a sandbox process, as Lambda does, and
``--concurrency N`` runs N chunk invocations of one stage at once (on two cores they share them).

The machine is shared and has 2 cores: compare ratios within a run. Usage:
``python benchmarks/e2e.py [--long-minutes 10 60] [--chunk-seconds 600] [--skip-short] [--isolation process]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from agentflow.aws.clients import table
from agentflow.local.client import ApiClient
from agentflow.local.runner import RunnerOptions
from agentflow.local.stack import LocalStack
from agentflow.services import recordings as recs
from agentflow.services.tenants import create_tenant_service
from long_audio import conversation

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def _rss(pid: int | str) -> int:
    """A process's resident memory in bytes, with its descendants' (the sandboxes of ``--isolation process``)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _rss(child)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


class RssSampler(threading.Thread):
    """Samples the resident memory of this process and its children every 0.1 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.samples.append((time.time(), _rss("self")))

    def peak(self, start: float, end: float) -> int:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=0)


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run_pipeline(api: ApiClient, stack: LocalStack, path: Path, sampler: RssSampler) -> dict[str, Any]:
    session = api.create_session()
    started = time.perf_counter()
    rid = api.upload(session["session_id"], path, filename=path.name, content_type="audio/wav")
    uploaded = time.time()
    final = api.wait(rid, timeout=4 * 3600)
    total = time.perf_counter() - started
    if final["status"] != "COMPLETED":
        raise RuntimeError(f"{path.name}: {final['status']} {final.get('failure_reason')}")
    item = _recording_item(stack, rid)
    stages = {}
    for name in ("transcribe", "diarize", "summarize"):
        info = final["stages"][name]
        stored = item["stages"][name]
        window = (_ts(info["started_at"]), _ts(info["completed_at"]))
        runs = [float(r["seconds"]) for r in stored.get("runs", {}).values() if r.get("seconds") is not None]
        stages[name] = {
            "seconds": float(info["seconds"]),
            "peak_rss_mb": sampler.peak(*window) / 2**20,
            "chunks": int((info.get("chunks") or {}).get("total") or 1),
            "longest_chunk": max(runs, default=float(info["seconds"])),
            "merge": float(stored.get("merge_seconds") or 0.0),
        }
    ingest = _ts(str(item["processing_at"])) - uploaded
    longest = max(stages["transcribe"]["longest_chunk"], stages["diarize"]["longest_chunk"])
    merge = max(stages["transcribe"]["merge"], stages["diarize"]["merge"])
    parallel = max(ingest, 0.0) + longest + merge + stages["summarize"]["seconds"]
    return {
        "total": total,
        "duration": float(final["duration_seconds"]),
        "stages": stages,
        "ingest": ingest,
        "parallel": parallel,
    }


def _recording_item(stack: LocalStack, rid: str) -> dict[str, Any]:
    db = table(stack.ref("Table"))
    found = db.scan(
        FilterExpression="recording_id = :r AND entity = :e",
        ExpressionAttributeValues={":r": rid, ":e": "recording"},
    )
    pk, sk = recs.recording_key(found["Items"][0]["tenant_id"], rid)
    item: dict[str, Any] = db.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True)["Item"]
    return item


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
    parser.add_argument("--long-minutes", type=float, nargs="*", default=[10.0])
    parser.add_argument(
        "--chunk-seconds", type=float, default=None, help="CHUNK_SECONDS (default: the setting's)"
    )
    parser.add_argument("--baseline-max-minutes", type=float, default=10.0)
    parser.add_argument("--skip-short", action="store_true", help="only the long recordings")
    parser.add_argument(
        "--isolation",
        choices=["thread", "process"],
        default="thread",
        help="where invocations run (RunnerOptions.isolation); stage memory is this process's only with thread",
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="invocations at once per queue (needs --isolation process)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        if not args.skip_short:
            files = [
                ("sample 30 s (cold)", DATA / "sample.wav"),
                ("sample 30 s", DATA / "sample.wav"),
                ("dev00 30 s", DATA / "dev00.wav"),
            ]
        for minutes in args.long_minutes:
            path, _turns = conversation(minutes, Path(tmp) / f"talk-{minutes:g}.wav")
            files.append((f"conversation {minutes:g} min", path))
        environment = {"CHUNK_SECONDS": str(args.chunk_seconds)} if args.chunk_seconds else {}
        sampler = RssSampler()
        sampler.start()
        rows = []
        print(
            f"{datetime.now():%Y-%m-%d %H:%M}, load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        )
        with LocalStack(
            environment=environment,
            options=RunnerOptions(isolation=args.isolation, concurrency=args.concurrency),
        ) as stack:
            tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("bench")
            api = ApiClient(api_url=stack.api_url, api_key=tenant.api_key)
            for label, path in files:
                result = run_pipeline(api, stack, path, sampler)
                small = result["duration"] <= args.baseline_max_minutes * 60 + 1
                baseline = run_baseline(path) if "cold" not in label and small else None
                rows.append((label, result, baseline))
                print_row(label, result, baseline)
        sampler.stop.set()
    print()
    for label, result, baseline in rows:
        if baseline:
            print(f"{label:22} pipeline/sequential = {result['total'] / baseline:.2f}")
    for label, result, _baseline in rows:
        chunks = result["stages"]["transcribe"]["chunks"]
        if chunks > 1:
            t, d = result["stages"]["transcribe"], result["stages"]["diarize"]
            print(
                f"{label:22} chunks {t['chunks']}/{d['chunks']} (transcribe/diarize); longest chunk"
                f" {t['longest_chunk']:.1f} / {d['longest_chunk']:.1f} s; merges {t['merge']:.2f} / {d['merge']:.2f} s;"
                f" ingest {result['ingest']:.1f} s; summarize {result['stages']['summarize']['seconds']:.1f} s;"
                f" here {result['total']:.1f} s; with one invocation per chunk (AWS, computed) {result['parallel']:.1f} s"
            )


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
