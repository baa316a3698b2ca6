"""Benchmark: the transcription stage against bare faster-whisper, same model and settings, one process.

Prints wall time, real-time factor (RTF = wall / audio duration), peak resident memory and the ratio
stage / bare, for a >= 60 s recording built from the shared reference files; then the variants the
stage's settings were chosen from (greedy decoding, BatchedInferencePipeline), their word error rate
on sample.wav (against sample.stm), and peak memory on a 2-hour recording.

Peak memory is the process's VmHWM, reset before each run through /proc/self/clear_refs (Linux), so
each figure covers one run; "+MB" is that peak above the memory held before the run (model loaded).
The machine is shared with other CPU-heavy work: wall times are noisy. Contenders run interleaved,
``--repeats`` times, and medians are compared; CPU time (all threads) is printed beside wall time.

Usage: .venv/bin/python benchmarks/transcribe.py [--repeats 3] [--hours 2] [--model base]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from agentflow.speech import whisper
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.speech.transcribe import DECODE_OPTIONS, VAD_OPTIONS, transcribe
from evaluation import normalize_words
from evaluation import word_error_rate as wer
from faster_whisper import BatchedInferencePipeline

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


@dataclass
class Run:
    name: str
    seconds: float  # wall
    cpu_seconds: float  # user + system, all threads: less sensitive to other work on the machine
    audio_seconds: float
    peak_mb: float
    added_mb: float
    text: str

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio_seconds


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(name: str, audio_seconds: float, fn: Callable[[], str]) -> Run:
    """Run ``fn`` once; wall time and the peak RSS during it."""
    Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")  # resets VmHWM to the current RSS
    before = _status_mb("VmRSS")
    began, cpu_began = time.perf_counter(), time.process_time()
    text = fn()
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    peak = _status_mb("VmHWM")
    run = Run(name, seconds, cpu_seconds, audio_seconds, peak, peak - before, text)
    print(
        f"  {name:<34} {seconds:7.2f} s wall {cpu_seconds:7.2f} s CPU  RTF {run.rtf:.3f}"
        f"  peak {peak:6.0f} MB (+{run.added_mb:.0f})",
        flush=True,
    )
    return run


def write_wav(path: Path, audio: npt.NDArray[np.float32]) -> Path:
    """Write mono float audio as 16 kHz 16-bit PCM, in pieces (the 2-hour file is large)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        step = 600 * SAMPLE_RATE
        for start in range(0, audio.shape[0], step):
            piece = np.clip(audio[start : start + step], -1.0, 1.0)
            out.writeframes((piece * 32767).astype("<i2").tobytes())
    return path


def reference_recording() -> npt.NDArray[np.float32]:
    """All shared recordings one after another, 1 s apart (stereo channels one after the other)."""
    gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
    pieces: list[npt.NDArray[np.float32]] = []
    for name in ("jfk.flac", "stereo_diarization.wav", "sample.wav", "dev00.wav", "dev01.wav"):
        audio = decode(DATA / name, mono=name == "jfk.flac")
        for channel in audio:
            pieces += [channel, gap]
    return np.concatenate(pieces)


def two_hours(speech: npt.NDArray[np.float32], hours: float) -> npt.NDArray[np.float32]:
    """``hours`` of quiet room noise with ``speech`` placed at the start, the middle and the end."""
    rng = np.random.default_rng(0)
    total = int(hours * 3600 * SAMPLE_RATE)
    audio = rng.normal(0.0, 3e-4, total).astype(np.float32)
    for start in (0, total // 2, total - speech.shape[0]):
        audio[start : start + speech.shape[0]] = speech
    return audio


def bare(model: Any, path: Path, **options: Any) -> str:
    """faster-whisper alone: whole-file decode, VAD and transcription, all words consumed."""
    settings = {**DECODE_OPTIONS, **options}
    segments, _ = model.transcribe(str(path), vad_filter=True, vad_parameters=dict(VAD_OPTIONS), **settings)
    return " ".join(" ".join(w.word.strip() for w in s.words or ()) for s in segments)


def batched(model: Any, path: Path, batch_size: int) -> str:
    """BatchedInferencePipeline (its own VAD chunking into <= 30 s pieces), same decode options."""
    pipeline = BatchedInferencePipeline(model)
    segments, _ = pipeline.transcribe(str(path), batch_size=batch_size, **DECODE_OPTIONS)
    return " ".join(" ".join(w.word.strip() for w in s.words or ()) for s in segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hours", type=float, default=2.0, help="length of the memory test; 0 skips it")
    parser.add_argument("--model", default=None, help="size name or directory (default WHISPER_MODEL)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    model = whisper.get_model(args.model)  # loaded once, outside every timing
    label = whisper.resolve(args.model).label
    print(f"model {label} int8, {whisper.cpu_threads()} threads; load average {os.getloadavg()}")
    stm = (DATA / "sample.stm").read_text(encoding="utf-8").splitlines()
    sample_ref = [w for line in stm for w in normalize_words(" ".join(line.split()[5:]))]

    with tempfile.TemporaryDirectory() as tmp:
        speech = reference_recording()
        long_path = write_wav(Path(tmp) / "reference.wav", speech)
        seconds = speech.shape[0] / SAMPLE_RATE
        print(f"\n{long_path.name}: {seconds:.1f} s")
        transcribe(DATA / "jfk.flac", model=args.model)  # warm-up: VAD session, allocator
        contenders: dict[str, Callable[[], str]] = {
            "bare faster-whisper": lambda: bare(model, long_path),
            "stage transcribe()": lambda: transcribe(long_path, model=args.model).text,
            "bare, greedy (beam_size=1)": lambda: bare(model, long_path, beam_size=1),
            "BatchedInferencePipeline bs=4": lambda: batched(model, long_path, 4),
            "BatchedInferencePipeline bs=8": lambda: batched(model, long_path, 8),
        }
        runs: dict[str, list[Run]] = {name: [] for name in contenders}
        for repeat in range(args.repeats):  # interleaved, so a burst of load hits every contender
            print(f" repeat {repeat + 1}/{args.repeats}")
            for name, fn in contenders.items():
                runs[name].append(measure(name, seconds, fn))

        base_wall = statistics.median(r.seconds for r in runs["bare faster-whisper"])
        base_cpu = statistics.median(r.cpu_seconds for r in runs["bare faster-whisper"])
        print(f"\nmedians over {args.repeats} runs; ratios are to bare faster-whisper (beam 5)")
        print(f"  {'':<34} {'wall s':>7} {'CPU s':>7} {'RTF':>6} {'peak MB':>8} {'wall x':>7} {'CPU x':>7}")
        for name, rs in runs.items():
            wall = statistics.median(r.seconds for r in rs)
            cpu = statistics.median(r.cpu_seconds for r in rs)
            peak = max(r.peak_mb for r in rs)
            print(
                f"  {name:<34} {wall:7.2f} {cpu:7.2f} {wall / seconds:6.3f} {peak:8.0f}"
                f" {wall / base_wall:7.3f} {cpu / base_cpu:7.3f}"
            )
        same = normalize_words(runs["stage transcribe()"][0].text) == normalize_words(
            runs["bare faster-whisper"][0].text
        )
        print(f"  same words, stage vs bare: {same}")

        print("\nword error rate on sample.wav (30 s telephone call) vs sample.stm")
        sample = DATA / "sample.wav"
        for name, text in (
            ("stage (beam 5)", transcribe(sample, model=args.model).text),
            ("greedy (beam 1)", bare(model, sample, beam_size=1)),
            ("batched bs=8", batched(model, sample, 8)),
        ):
            print(f"  {name:<34} WER {wer(sample_ref, normalize_words(text)):.3f}")

        if args.hours > 0:
            long_audio = two_hours(speech, args.hours)
            hours_path = write_wav(Path(tmp) / "hours.wav", long_audio)
            del long_audio
            total = args.hours * 3600
            print(f"\n{hours_path.name}: {total:.0f} s, quiet noise with the reference speech 3 times")
            hours_stage = measure(
                "stage transcribe()", total, lambda: transcribe(hours_path, model=args.model).text
            )
            hours_bare = measure("bare faster-whisper", total, lambda: bare(model, hours_path))
            print(
                f"  stage/bare: wall {hours_stage.seconds / hours_bare.seconds:.3f}, "
                f"CPU {hours_stage.cpu_seconds / hours_bare.cpu_seconds:.3f}, "
                f"added memory {hours_stage.added_mb:.0f} MB vs {hours_bare.added_mb:.0f} MB"
            )
            hours_path.unlink()
            # Whole-file faster-whisper computes one spectrogram over all the speech; for a recording
            # that is speech throughout, that alone is:
            silence = np.zeros(int(total * SAMPLE_RATE), dtype=np.float32)
            measure(
                "bare: log-mel of the whole file", total, lambda: str(model.feature_extractor(silence).shape)
            )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
