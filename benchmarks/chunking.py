"""Chunked against unchunked, judged on the signed summary (issue 19), for recordings of 12+ minutes.

Two recordings, both built from the repository's files and both with their truth:
- ``meeting``: the three dev transcripts (``tests/data/transcripts``) one after another, spoken by
  two espeak-ng voices (``tests/speech/synthetic.py``: one voice per role all along), repeated to
  the length: truth words and turns;
- ``ami``: dev00 and dev01 alternated (``long_audio.conversation``, real AMI speech): truth turns.

Each goes through the whole local pipeline (upload → signed summary) once unchunked and once per
chunk length asked for. Figures, from the signed summary's utterances and its stored transcript:
utterance-level DER (no collar) against the truth; WER against the truth words (``meeting``);
WER of the chunked transcript against the unchunked one; words doubled near a cut (the same word
twice within 1 s, within 3 s of a cut) in the chunked transcript against the unchunked one's count
in the same places (whisper repeats words too); chunks; upload → summary seconds.

The functions run in sandbox processes, as Lambda runs them (no GIL shared by whisper, pyannote,
moto and the API), one invocation at a time per stage (``--concurrency``). Usage: ``python benchmarks/chunking.py [--minutes 12] [--chunk-seconds 240 600]`` (needs espeak-ng
and sox, which ``make setup`` installs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from agentflow.aws.clients import client, table
from agentflow.local.client import ApiClient
from agentflow.local.runner import RunnerOptions
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from agentflow.speech.diarization import Turn
from evaluation import diarization_error_rate, normalize_words, word_error_rate
from long_audio import conversation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.speech.synthetic import synthesize, tools_available  # noqa: E402

PEOPLE = {"host": "Dana", "client": "Eli"}


def meeting(minutes: float, out: Path) -> tuple[Path, list[Turn], list[str]]:
    """The dev transcripts spoken by two voices, repeated to ``minutes``: the WAV, truth turns, words."""
    transcripts = [
        json.loads(path.read_text())["utterances"]
        for path in sorted((ROOT / "tests" / "data" / "transcripts").glob("*.json"))
    ]
    repeats = 1
    while True:
        laid: list[dict[str, Any]] = []  # one transcript after another, each keeping its own gaps
        for utterances in transcripts * repeats:
            offset = laid[-1]["end"] + 1.0 if laid else 0.0
            for u in utterances:
                laid.append(
                    dict(
                        u,
                        start=offset + float(u["start"]),
                        end=offset + float(u["end"]),
                        speaker=PEOPLE[u["role"]],
                    )
                )
        spoken = synthesize({"utterances": laid}, out)
        if spoken[-1].end >= minutes * 60:
            break
        repeats += 1
    turns = [Turn(s.start, s.end, s.name) for s in spoken]
    words = [w for s in spoken for w in normalize_words(s.text)]
    return out, turns, words


def run(api: ApiClient, stack: LocalStack, path: Path) -> dict[str, Any]:
    session = api.create_session(host={"name": PEOPLE["host"]}, client={"name": PEOPLE["client"]})
    began = time.perf_counter()
    rid = api.upload(session["session_id"], path, filename=path.name, content_type="audio/wav")
    final = api.wait(rid, timeout=3 * 3600)
    if final["status"] != "COMPLETED":
        raise RuntimeError(f"{path.name}: {final['status']} {final.get('failure_reason')}")
    seconds = time.perf_counter() - began
    signed = api.expect(200, "GET", f"/v1/sessions/{session['session_id']}/summary")["summary"]
    body = client("s3").get_object(
        Bucket=stack.ref("RecordingsBucket"), Key=f"artifacts/{rid}/transcript.json"
    )
    transcript = json.loads(body["Body"].read())
    return {
        "seconds": seconds,
        "duration": float(final["duration_seconds"]),
        "chunks": int((final["stages"]["transcribe"].get("chunks") or {}).get("total") or 1),
        "utterances": signed["transcript"],
        "words": transcript["words"],
    }


def doubled_near(words: list[dict[str, Any]], cuts: list[float]) -> int:
    """Words said twice in a row (same normalized word, starts within 1 s) within 3 s of a cut."""
    count = 0
    for a, b in itertools.pairwise(words):
        near = any(abs(float(b["start"]) - cut) <= 3.0 for cut in cuts)
        same = normalize_words(str(a["word"])) == normalize_words(str(b["word"])) != []
        if near and same and float(b["start"]) - float(a["start"]) <= 1.0:
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--chunk-seconds", type=float, nargs="*", default=[240.0, 600.0])
    parser.add_argument("--only", choices=["meeting", "ami"], default=None)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="chunk invocations at once per stage, each in a sandbox process (RunnerOptions; on two "
        "cores 2 is slower: e2e.py, 2026-12-02)",
    )
    args = parser.parse_args()
    if not tools_available():
        raise SystemExit("espeak-ng and sox are needed (make setup installs them)")
    print(f"{datetime.now():%Y-%m-%d %H:%M}, load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory() as tmp:
        recordings: dict[str, tuple[Path, list[Turn], list[str] | None]] = {}
        if args.only in (None, "meeting"):
            recordings["meeting"] = meeting(args.minutes, Path(tmp) / "meeting.wav")
        if args.only in (None, "ami"):
            path, turns = conversation(args.minutes, Path(tmp) / "ami.wav")
            recordings["ami"] = (path, turns, None)
        print(
            f"{'recording':9} {'chunks':>6} {'utt DER':>8} {'WER':>6} {'WER vs whole':>12} {'doubled@cuts':>12} {'seconds':>8}"
        )
        for name, (path, truth, words) in recordings.items():
            results: dict[float, dict[str, Any]] = {}
            for chunk_seconds in [4 * 3600.0, *args.chunk_seconds]:
                options = RunnerOptions(isolation="process", concurrency=args.concurrency)
                with LocalStack(environment={"CHUNK_SECONDS": str(chunk_seconds)}, options=options) as stack:
                    tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("bench")
                    api = ApiClient(api_url=stack.api_url, api_key=tenant.api_key)
                    result = run(api, stack, path)
                    item = _recording_chunks(stack)
                    result["cuts"] = [float(c["end"]) for c in item[:-1]]
                results[chunk_seconds] = result
                whole = results[4 * 3600.0]
                hypothesis = [
                    Turn(float(u["start"]), float(u["end"]), str(u["speaker"])) for u in result["utterances"]
                ]
                der = diarization_error_rate(truth, hypothesis, duration=result["duration"])
                said = [w for u in result["utterances"] for w in normalize_words(str(u["text"]))]
                wer = f"{word_error_rate(words, said):6.1%}" if words else "     -"
                own = [w for x in result["words"] for w in normalize_words(str(x["word"]))]
                base = [w for x in whole["words"] for w in normalize_words(str(x["word"]))]
                cuts = result["cuts"]
                doubled = (
                    f"{doubled_near(result['words'], cuts)} vs {doubled_near(whole['words'], cuts)}"
                    if cuts
                    else "-"
                )
                print(
                    f"{name:9} {result['chunks']:>6} {der:8.1%} {wer} {word_error_rate(base, own):12.1%}"
                    f" {doubled:>12} {result['seconds']:8.1f}",
                    flush=True,
                )


def _recording_chunks(stack: LocalStack) -> list[dict[str, Any]]:
    items = table(stack.ref("Table")).scan()["Items"]
    recording = next(i for i in items if i.get("entity") == "recording")
    return list(recording.get("chunks") or [])


if __name__ == "__main__":
    main()
