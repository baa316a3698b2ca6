"""Is this a one-participant-per-channel recording?

A browser that records host and client on separate channels (or a telephony bridge) gives exact
speaker attribution for free; a stereo file whose channels carry the same mix does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from agentflow.speech.audio import decode

# Channels whose waveforms correlate above this are copies of one mix (measured: an upmixed mono
# file correlates at ~1.0, separate microphones near 0).
_SAME_MIX_CORRELATION = 0.5
# A channel quieter than this RMS (full scale = 1.0) carries no one.
_SILENT_RMS = 1e-3


def channels_are_participants(audio: npt.NDArray[np.float32]) -> bool:
    """True when ``audio`` (channels, samples) has exactly two distinct, non-silent channels."""
    if audio.ndim != 2 or audio.shape[0] != 2 or audio.shape[1] == 0:
        return False
    left, right = audio[0].astype(np.float64), audio[1].astype(np.float64)
    if min(np.sqrt(np.mean(left**2)), np.sqrt(np.mean(right**2))) < _SILENT_RMS:
        return False
    denominator = np.linalg.norm(left) * np.linalg.norm(right)
    correlation = float(np.dot(left, right) / denominator) if denominator else 1.0
    return abs(correlation) < _SAME_MIX_CORRELATION


def is_per_channel_recording(path: Path) -> bool:
    """Decode ``path`` (all channels) and apply :func:`channels_are_participants`."""
    return channels_are_participants(decode(path, mono=False))
