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


class ChannelCorrelation:
    """The two-channel test over a recording fed block by block (memory: four running sums).

    RMS and correlation need only sums of squares and of products, so the whole recording never
    has to be in memory at once: a 4-hour stereo file is about 1.8 GB of 16 kHz float32 samples.
    """

    def __init__(self) -> None:
        self.samples = 0
        self._left_sq = self._right_sq = self._product = 0.0

    def add(self, block: npt.NDArray[np.float32]) -> None:
        """Add a (2, samples) block."""
        left, right = block[0].astype(np.float64), block[1].astype(np.float64)
        self.samples += left.shape[0]
        self._left_sq += float(np.dot(left, left))
        self._right_sq += float(np.dot(right, right))
        self._product += float(np.dot(left, right))

    def participants(self) -> bool:
        """True when the channels so far are two distinct, non-silent voices."""
        if self.samples == 0:
            return False
        left_rms, right_rms = np.sqrt(self._left_sq / self.samples), np.sqrt(self._right_sq / self.samples)
        if min(left_rms, right_rms) < _SILENT_RMS:
            return False
        denominator = np.sqrt(self._left_sq) * np.sqrt(self._right_sq)
        correlation = float(self._product / denominator) if denominator else 1.0
        return abs(correlation) < _SAME_MIX_CORRELATION


def channels_are_participants(audio: npt.NDArray[np.float32]) -> bool:
    """True when ``audio`` (channels, samples) has exactly two distinct, non-silent channels."""
    if audio.ndim != 2 or audio.shape[0] != 2 or audio.shape[1] == 0:
        return False
    stats = ChannelCorrelation()
    stats.add(audio)
    return stats.participants()


def is_per_channel_recording(path: Path) -> bool:
    """Decode ``path`` (all channels) and apply :func:`channels_are_participants`."""
    return channels_are_participants(decode(path, mono=False))
