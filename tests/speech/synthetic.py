"""Two-voice meetings synthesized from the dev transcripts (espeak-ng voices, sox), with their truth.

Each utterance is spoken by its role's voice (host: American English, male; client: British
English, female variant, higher pitch), resampled to 16 kHz mono by sox, and laid end to end with
the transcript's own gaps (at least 0.4 s). The truth is where each utterance landed.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
VOICES = {
    "host": ["-v", "en-us", "-p", "40", "-s", "165"],
    "client": ["-v", "en-gb+f3", "-p", "65", "-s", "155"],
}
MIN_GAP = 0.4  # s


@dataclass(frozen=True)
class Spoken:
    """One synthesized utterance: who, when (seconds), what."""

    role: str
    name: str
    start: float
    end: float
    text: str


def tools_available() -> bool:
    """espeak-ng and sox are on PATH (``make setup`` installs them)."""
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def _speak(text: str, role: str, work: Path, index: int) -> np.ndarray:
    raw, resampled = work / f"u{index}.raw.wav", work / f"u{index}.wav"
    subprocess.run(["espeak-ng", *VOICES[role], "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(resampled)], check=True
    )
    with wave.open(str(resampled), "rb") as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    # espeak-ng pads with silence; trim it so that the truth is the voice, not the padding.
    loud = np.flatnonzero(np.abs(audio) > 300)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def synthesize(transcript: dict[str, Any], out: Path) -> list[Spoken]:
    """Write ``out`` (16 kHz mono WAV) and return what was said when."""
    work = out.parent / f"{out.stem}-parts"
    work.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    spoken: list[Spoken] = []
    cursor = 0.0
    previous_end = 0.0
    for index, utterance in enumerate(transcript["utterances"]):
        gap = max(MIN_GAP, float(utterance["start"]) - previous_end) if index else 0.5
        previous_end = float(utterance["end"])
        voice = _speak(utterance["text"], utterance["role"], work, index)
        pieces.append(np.zeros(int(gap * SAMPLE_RATE), dtype=np.int16))
        cursor += gap
        pieces.append(voice)
        duration = voice.shape[0] / SAMPLE_RATE
        spoken.append(
            Spoken(utterance["role"], utterance["speaker"], cursor, cursor + duration, utterance["text"])
        )
        cursor += duration
    pieces.append(np.zeros(SAMPLE_RATE // 2, dtype=np.int16))
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.concatenate(pieces).tobytes())
    shutil.rmtree(work)
    return spoken
