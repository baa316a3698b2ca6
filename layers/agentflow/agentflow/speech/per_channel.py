"""Who spoke when, for a recording with one participant per channel: speech activity per channel.

Silero VAD (through faster-whisper, on ONNX Runtime) finds each channel's speech; an energy test then
drops the other participant's bleed. Exact and cheap, and it never imports torch or pyannote (a
subprocess test checks that), so a per-channel job does not pay the pipeline's import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agentflow.errors import PermanentStageError
from agentflow.speech.audio import SAMPLE_RATE, Source, decode
from agentflow.speech.chunked import CHANNEL_CONTEXT, join_turns
from agentflow.speech.diarization import Diarization, Turn
from agentflow.speech.voice import voice_spans

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
    channels, samples = audio.shape
    windows = -(-samples // _VAD_WINDOW)
    padded = np.zeros((channels, windows * _VAD_WINDOW), dtype=np.float32)
    padded[:, :samples] = audio
    level = 10 * np.log10(np.mean(padded.reshape(channels, windows, _VAD_WINDOW) ** 2, axis=2) + 1e-10)
    speech = np.zeros((channels, windows), dtype=bool)
    for channel in range(channels):
        for first, last in voice_spans(audio[channel]):
            speech[channel, first // _VAD_WINDOW : -(-last // _VAD_WINDOW)] = True
    # Bleed: the other participant, heard faintly through this channel's microphone.
    active = speech & (level >= level.max(axis=0, keepdims=True) - _BLEED_DB)
    return active, level


def diarize_channels(
    source: Source,
    *,
    labels: list[str],
    start: float = 0.0,
    end: float | None = None,
    duration: float | None = None,
) -> Diarization:
    """Diarize a recording that carries one participant per channel, or one chunk ``[start, end)`` of it.

    A chunk decodes only ``[start - CHANNEL_CONTEXT, end + CHANNEL_CONTEXT]`` (the VAD settles
    before the cut, and a turn across the cut is found whole on both sides) and keeps what lies in
    ``[start, end)``, in seconds of the recording; :func:`merge_channels` joins the chunks.

    Args:
        source: a multichannel audio file (a path, or a seekable binary file such as an S3 range
            reader, read from its start).
        labels: ``labels[i]`` names the speaker of channel ``i``.
        start: the chunk's start (s).
        end: the chunk's end (s); None: the end of the recording.
        duration: the recording's duration (s), reported as the result's; None: where the decoded
            audio ends.

    Returns:
        ``per_channel`` turns labelled with ``labels``; where both speak at once, the exclusive view
        keeps the louder channel.

    Raises:
        PermanentStageError: the file's channel count differs from ``len(labels)``.
    """
    # On the whole recording's grid of VAD windows, so a chunk's windows are the whole run's.
    read_start = max(0.0, start - CHANNEL_CONTEXT) * SAMPLE_RATE // _VAD_WINDOW * _VAD_WINDOW / SAMPLE_RATE
    read_end = None if end is None else end + CHANNEL_CONTEXT
    if duration is not None and read_end is not None:
        read_end = min(read_end, duration)
    if not isinstance(source, Path):
        source.seek(0)  # FFmpeg probes from the current offset: a handle read before would fail
    audio = decode(source, mono=False, start=read_start, end=read_end)
    if audio.shape[0] != len(labels) or len(set(labels)) != len(labels):
        name = source.name if isinstance(source, Path) else "the recording"
        raise PermanentStageError(
            f"{name} has {audio.shape[0]} channels but {len(labels)} distinct labels were given"
        )
    decoded_end = read_start + audio.shape[1] / SAMPLE_RATE
    stop = decoded_end if end is None else min(end, decoded_end)
    turns, exclusive = _channel_turns(audio, labels, offset=read_start, limit=decoded_end)
    return Diarization(
        mode="per_channel",
        duration=decoded_end if duration is None else duration,
        speakers=list(labels),
        turns=_cut(turns, start, stop),
        exclusive=_cut(exclusive, start, stop),
    )


def merge_channels(parts: Sequence[Mapping[str, Any]]) -> Diarization:
    """Join the chunks of a per-channel recording (``diarize_channels(..., start=, end=).to_dict()``).

    No clustering: the labels are the participants. The chunks' turns are concatenated and a
    speaker's turns that meet at a cut become one; the order of the parts, and a part given twice,
    change nothing.

    Raises:
        PermanentStageError: no parts, or a part that is not per-channel.
    """
    if not parts or any(part.get("mode") != "per_channel" for part in parts):
        raise PermanentStageError("merge_channels needs per-channel chunks, and at least one")
    labels = list(dict.fromkeys(label for part in parts for label in part["speakers"]))

    def views(name: str) -> list[Turn]:
        unique = {(t["start"], t["end"], t["speaker"]) for part in parts for t in part[name]}
        return join_turns([Turn(float(a), float(b), str(who)) for a, b, who in unique])

    return Diarization(
        mode="per_channel",
        duration=max(float(part["duration"]) for part in parts),
        speakers=labels,
        turns=views("turns"),
        exclusive=views("exclusive"),
    )


def _cut(turns: list[Turn], start: float, end: float) -> list[Turn]:
    cut = (Turn(max(t.start, start), min(t.end, end), t.speaker) for t in turns)
    return [t for t in cut if t.end > t.start]


def _channel_turns(
    audio: npt.NDArray[np.float32], labels: list[str], *, offset: float, limit: float
) -> tuple[list[Turn], list[Turn]]:
    """Turns and the exclusive view of (channels, samples) audio that starts at ``offset`` seconds."""
    turns: list[Turn] = []
    exclusive: list[Turn] = []
    if audio.shape[1] == 0:
        return turns, exclusive
    active, level = channel_activity(audio)
    step = _VAD_WINDOW / SAMPLE_RATE
    # Exclusive view: in each window, the loudest active channel (-1: nobody).
    owner = np.where(active.any(axis=0), np.where(active, level, -np.inf).argmax(axis=0), -1)
    for channel, label in enumerate(labels):
        turns += [Turn(offset + a, min(offset + b, limit), label) for a, b in _runs(active[channel], step)]
    for start, end, channel in _owner_runs(owner, step):
        exclusive.append(Turn(offset + start, min(offset + end, limit), labels[channel]))
    turns.sort(key=lambda turn: (turn.start, turn.end))
    exclusive.sort(key=lambda turn: (turn.start, turn.end))
    return turns, exclusive
