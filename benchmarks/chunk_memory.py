"""One chunk job's peak memory and time as the recording grows (issue 19): 10 min, 1 h, 2 h.

For each length, a two-party conversation (``long_audio``) is uploaded to the local S3 and planned
as ingest plans it (``CHUNK_SECONDS``); then the LAST chunk's transcribe job and diarize job each
run, alone, in a fresh process: the stages' own ``compute`` with the real models, reading the upload
through ranged GETs as the Lambda does. The process's own peak RSS (``VmHWM``: ``ru_maxrss`` survives
fork + exec, so it would count this parent, which holds the local S3's objects) and the wall time are
reported; a chunk job that held the whole recording would grow by ~115 MB (float32) per hour.
The merges (the fan-in) are timed over the chunk artifacts' shapes separately, in
``benchmarks/e2e.py``.

``--batch-sizes 0 8`` runs the transcribe job once per ``BATCH_SIZE`` of the stage (0: the
sequential path), in turn, to compare their peaks on the same chunk.

Usage: ``python benchmarks/chunk_memory.py [--minutes 10 60 120] [--chunk-seconds 600]
[--stages transcribe diarize] [--batch-sizes N ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from agentflow.aws.clients import client
from agentflow.local.stack import LocalStack
from agentflow.speech.plan import plan_chunks
from agentflow.speech.scan import scan
from long_audio import conversation

CHILD = """
import json, resource, sys, time
from pathlib import Path
from agentflow.aws.clients import client
from agentflow.aws.ranged import S3RangeReader
from agentflow.schemas.messages import ChunkSpan
from agentflow.speech import transcribe as speech_transcribe
from agentflow.stages import diarize, transcribe

def hwm():  # this process's own peak (VmHWM); ru_maxrss would include the parent's at fork
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

stage, bucket, key, chunk, duration = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), float(sys.argv[5])
module = {"transcribe": transcribe, "diarize": diarize}[stage]
if len(sys.argv) > 6:  # the stage's BATCH_SIZE for this run (0: sequential)
    speech_transcribe.BATCH_SIZE = int(sys.argv[6]) or None
s3 = client("s3")
size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
session = {"host": {"name": "Dana"}, "client": {"name": "Eli"}}
recording = {"duration_seconds": duration, "per_channel": False}
# Models load first, so the figure below is the chunk's own work on top of them.
module.compute(S3RangeReader(s3, bucket=bucket, key=key, size=size), recording, session, ChunkSpan(index=0, start=0.0, end=1.0))
loaded = hwm()
began, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
artifact = module.compute(S3RangeReader(s3, bucket=bucket, key=key, size=size), recording, session, ChunkSpan(**chunk))
seconds = time.perf_counter() - began
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
peak = hwm()
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak / 2**20, "models_mb": loaded / 2**20, "size": size}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="*", default=[10.0, 60.0, 120.0])
    parser.add_argument("--chunk-seconds", type=float, default=600.0)
    parser.add_argument("--stages", nargs="+", default=["transcribe", "diarize"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None, metavar="N")
    args = parser.parse_args()
    print(f"{datetime.now():%Y-%m-%d %H:%M}, load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(
        f"{'audio':>8} {'upload MB':>9} {'chunks':>6} {'stage':>14} {'chunk s':>8} {'wall s':>7} {'CPU s':>7}"
        f" {'peak MB':>8}"
        f" {'models MB':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp, LocalStack(pollers=False) as stack:
        bucket = stack.ref("RecordingsBucket")
        env = {**os.environ, **stack.worker_environment()}
        for minutes in args.minutes:
            path, _turns = conversation(minutes, Path(tmp) / f"talk-{minutes:g}.wav")
            key = f"bench/talk-{minutes:g}.wav"
            client("s3").upload_file(str(path), bucket, key)
            scanned = scan(path, max_duration=4 * 3600)
            chunks = plan_chunks(scanned.info.duration, scanned.loudness, max_seconds=args.chunk_seconds)
            last = chunks[-1]
            runs = [
                (stage, size)
                for stage in args.stages
                for size in (args.batch_sizes if stage == "transcribe" and args.batch_sizes else [None])
            ]
            for stage, size in runs:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        stage,
                        bucket,
                        key,
                        last.model_dump_json(),
                        str(scanned.info.duration),
                        *([] if size is None else [str(size)]),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{minutes:>6g} m {path.stat().st_size / 2**20:>9.0f} {len(chunks):>6}"
                    f" {stage + ('' if size is None else f' bs {size}'):>14}"
                    f" {last.end - last.start:>8.0f} {result['seconds']:>7.1f} {result['cpu']:>7.1f}"
                    f" {result['peak_mb']:>8.0f}"
                    f" {result['models_mb']:>9.0f}",
                    flush=True,
                )
            path.unlink()


if __name__ == "__main__":
    main()
