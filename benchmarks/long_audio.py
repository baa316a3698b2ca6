"""Long recordings with known answers, built from the repository's own 30 s files.

``dev00.wav`` and ``dev01.wav`` are two stretches of one AMI meeting between the same two people
(MEE009, MEE012 in ``dev.rttm``). Played one after the other, again and again, they make a
two-party conversation of any length in real speech, whose reference turns follow from the RTTM:
the chunked pipeline (issue 19) is judged on it against the unchunked one.

Benchmarks import it as ``long_audio``, tests as ``benchmarks.long_audio``.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.speech.diarization import Turn

try:  # a script in benchmarks/ or a test importing the package
    from evaluation import read_rttm  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on how it is imported
    from benchmarks.evaluation import read_rttm

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
PARTS = ("dev00", "dev01")


def conversation(minutes: float, out: Path) -> tuple[Path, list[Turn]]:
    """Write a 16 kHz mono WAV of at least ``minutes`` to ``out``; return it and its reference turns.

    The parts alternate ``dev00, dev01, dev00, …`` until the length is reached; each part's RTTM
    turns are shifted by where it starts.
    """
    references = read_rttm(DATA / "dev.rttm")
    audio = {name: decode(DATA / f"{name}.wav")[0] for name in PARTS}
    pieces: list[np.ndarray] = []
    turns: list[Turn] = []
    offset = 0
    index = 0
    while offset < minutes * 60 * SAMPLE_RATE:
        name = PARTS[index % len(PARTS)]
        start = offset / SAMPLE_RATE
        turns.extend(Turn(start + t.start, start + t.end, t.speaker) for t in references[name])
        pieces.append(audio[name])
        offset += audio[name].shape[0]
        index += 1
    pcm = (np.clip(np.concatenate(pieces), -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(pcm.tobytes())
    return out, turns
