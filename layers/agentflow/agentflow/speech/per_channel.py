"""Who spoke when, for a recording with one participant per channel: speech activity per channel.

Silero VAD (through faster-whisper, on ONNX Runtime) finds each channel's speech; an energy test then
drops the other participant's bleed. Exact and cheap, and it never imports torch or pyannote (a
subprocess test checks that), so a per-channel job does not pay the pipeline's import.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from agentflow.errors import PermanentStageError
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.speech.diarization import Diarization, Turn
from agentflow.speech.whisper import vad_path

# Per-channel mode, on a grid of Silero's 512-sample (32 ms) windows.
_VAD_WINDOW = 512
# A channel more than this many dB below the loudest channel hears the other participant's bleed.
_BLEED_DB = 12.0
_MIN_GAP = 0.3  # s: shorter pauses inside one speaker's speech are closed
_MIN_TURN = 0.1  # s: shorter islands of activity are dropped


def _runs(active: npt.NDArray[np.bool_], step: float) -> list[tuple[float, float]]:
    """[(start, end)] in seconds of the True runs of a frame mask, after closing short gaps and
    dropping short islands."""
    padded = np.concatenate([[False], active, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and (start - merged[-1][1]) * step < _MIN_GAP:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(a * step, b * step) for a, b in merged if (b - a) * step >= _MIN_TURN]


def _owner_runs(owner: npt.NDArray[np.int64], step: float) -> list[tuple[float, float, int]]:
    """[(start, end, channel)] runs of one owner per window; silences shorter than the minimum gap
    between two runs of the same channel are closed, runs shorter than the minimum turn dropped."""
    changes = np.flatnonzero(np.diff(owner)) + 1
    bounds = [0, *changes.tolist(), len(owner)]
    runs = [(bounds[i], bounds[i + 1], int(owner[bounds[i]])) for i in range(len(bounds) - 1)]
    merged: list[tuple[int, int, int]] = []
    for start, end, who in runs:
        if who < 0:
            continue
        if merged and merged[-1][2] == who and (start - merged[-1][1]) * step < _MIN_GAP:
            merged[-1] = (merged[-1][0], end, who)
        else:
            merged.append((start, end, who))
    return [(a * step, b * step, who) for a, b, who in merged if (b - a) * step >= _MIN_TURN]


def channel_activity(audio: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Speech activity of each channel's own participant.

    Args:
        audio: (channels, samples) 16 kHz float32.

    Returns:
        ``active`` (channels, windows) booleans and ``level`` (channels, windows) in dB, on a grid of
        512-sample (32 ms) windows.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad_path()  # verify the Silero weights faster-whisper's VAD loads
    channels, samples = audio.shape
    windows = -(-samples // _VAD_WINDOW)
    padded = np.zeros((channels, windows * _VAD_WINDOW), dtype=np.float32)
    padded[:, :samples] = audio
    level = 10 * np.log10(np.mean(padded.reshape(channels, windows, _VAD_WINDOW) ** 2, axis=2) + 1e-10)
    speech = np.zeros((channels, windows), dtype=bool)
    options = VadOptions(min_speech_duration_ms=100, min_silence_duration_ms=300, speech_pad_ms=64)
    for channel in range(channels):
        for span in get_speech_timestamps(audio[channel], options, sampling_rate=SAMPLE_RATE):
            speech[channel, span["start"] // _VAD_WINDOW : -(-span["end"] // _VAD_WINDOW)] = True
    # Bleed: the other participant, heard faintly through this channel's microphone.
    active = speech & (level >= level.max(axis=0, keepdims=True) - _BLEED_DB)
    return active, level


def diarize_channels(path: Path, *, labels: list[str]) -> Diarization:
    """Diarize a recording that carries one participant per channel.

    Args:
        path: a multichannel audio file.
        labels: ``labels[i]`` names the speaker of channel ``i``.

    Returns:
        ``per_channel`` turns labelled with ``labels``; where both speak at once, the exclusive view
        keeps the louder channel.

    Raises:
        PermanentStageError: the file's channel count differs from ``len(labels)``.
    """
    audio = decode(path, mono=False)
    if audio.shape[0] != len(labels) or len(set(labels)) != len(labels):
        raise PermanentStageError(
            f"{path.name} has {audio.shape[0]} channels but {len(labels)} distinct labels were given"
        )
    duration = audio.shape[1] / SAMPLE_RATE
    active, level = channel_activity(audio)
    step = _VAD_WINDOW / SAMPLE_RATE
    # Exclusive view: in each window, the loudest active channel (-1: nobody).
    owner = np.where(active.any(axis=0), np.where(active, level, -np.inf).argmax(axis=0), -1)
    turns: list[Turn] = []
    exclusive: list[Turn] = []
    for channel, label in enumerate(labels):
        turns += [Turn(a, min(b, duration), label) for a, b in _runs(active[channel], step)]
    for start, end, channel in _owner_runs(owner, step):
        exclusive.append(Turn(start, min(end, duration), labels[channel]))
    turns.sort(key=lambda turn: (turn.start, turn.end))
    exclusive.sort(key=lambda turn: (turn.start, turn.end))
    return Diarization(
        mode="per_channel", duration=duration, speakers=list(labels), turns=turns, exclusive=exclusive
    )
