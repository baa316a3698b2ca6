"""Where a voice is heard, whoever it is: Silero VAD (faster-whisper's, on ONNX Runtime), finely.

One definition of "a voice is heard here" for the two places that need it on a fine grid: the
per-channel mode (each channel's speech) and the pipeline's chunk jobs, whose voice activity bounds how
far an utterance reaches beyond its words (:func:`agentflow.speech.attribution.attribute`).
Transcription's VAD (``transcribe.VAD_OPTIONS``) is coarser on purpose: it pads speech by 400 ms and
bridges 2 s pauses so that whisper hears words whole.

No torch: about 2 ms of CPU per second of audio (600 s of dev01 repeated: 1.27 CPU-s, 2026-12-02).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

from agentflow.speech.audio import SAMPLE_RATE
from agentflow.speech.whisper import vad_path

# Silero's default speech threshold (0.5); a pause of 300 ms or more separates two stretches, each
# padded by 64 ms (two of Silero's 32 ms windows) and at least 100 ms long.
VOICE_OPTIONS: Final[Mapping[str, int]] = MappingProxyType(
    {"min_speech_duration_ms": 100, "min_silence_duration_ms": 300, "speech_pad_ms": 64}
)


def voice_spans(audio: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
    """Stretches of one channel's 16 kHz audio where Silero hears a voice, ``(start, end)`` in samples."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad_path()  # verify the Silero weights faster-whisper's VAD loads
    if audio.shape[-1] == 0:
        return []
    spans = get_speech_timestamps(audio, VadOptions(**VOICE_OPTIONS), sampling_rate=SAMPLE_RATE)
    return [(int(span["start"]), int(span["end"])) for span in spans]


def voice_activity(audio: npt.NDArray[np.float32], *, offset: float = 0.0) -> list[tuple[float, float]]:
    """:func:`voice_spans` in seconds, for audio that starts ``offset`` seconds into the recording."""
    return [(offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE) for a, b in voice_spans(audio)]
