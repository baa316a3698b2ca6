"""Where a long recording is cut into chunk jobs (issue 19): at pauses, each at most a given length.

Lambda stops an invocation at 15 minutes, and a 4-hour recording takes far longer than that to
transcribe or diarize in one. Ingest therefore plans chunks: contiguous spans that cover the
recording, each its own transcribe job and diarize job, run in parallel. A recording no longer
than one chunk is one chunk, as before.

The cuts are placed in the quietest half second near where an even split would put them. Ingest
measures loudness as it decodes the upload anyway (:class:`Loudness`, fed by the streaming scan),
so the plan costs no second pass and no model: an energy detector is enough to find a pause
between words, and the stages do not depend on it being perfect — each chunk job reads a little
past its span on both sides, and the merges place the seam (a cut inside speech loses no word).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from agentflow.schemas.messages import ChunkSpan

FRAME_SECONDS: Final = 0.1  # one loudness value per 100 ms
PAUSE_SECONDS: Final = 0.5  # the quiet stretch a cut is centred in
# How far from an even split a cut may move to find a pause: a fraction of the chunk length,
# at most a minute (an hour-long chunk needs no more choice than a ten-minute one).
SEARCH_FRACTION: Final = 0.1
MAX_SEARCH_SECONDS: Final = 60.0


@dataclass
class Loudness:
    """Mean signal power per 100 ms of a stream fed frame by frame, at any rate and layout.

    Holds one float per 100 ms (144,000 for 4 hours) and at most one frame's samples.
    """

    rate: int
    powers: list[float] = field(default_factory=list)
    _sum: float = 0.0
    _count: int = 0

    def add(self, samples: npt.NDArray[Any], frames: int) -> None:
        """Add one decoded frame (``frames`` samples per channel, any layout) at its mean power.

        A frame is 20-100 ms in the codecs browsers and recorders use, so one power per frame,
        spread over the 100 ms bins it covers, keeps the scan's cost to one NumPy call per frame.
        """
        if frames <= 0:
            return
        values = np.asarray(samples, dtype=np.float32)
        power = float(np.mean(values * values))
        step = max(int(self.rate * FRAME_SECONDS), 1)
        left = frames
        while left:
            take = min(step - self._count, left)
            self._sum += power * take
            self._count += take
            left -= take
            if self._count == step:
                self.powers.append(self._sum / step)
                self._sum, self._count = 0.0, 0

    def finish(self) -> list[float]:
        """All values, the last (partial) 100 ms included."""
        if self._count:
            self.powers.append(self._sum / self._count)
            self._sum, self._count = 0.0, 0
        return self.powers


def plan_chunks(duration: float, powers: list[float] | None, *, max_seconds: float) -> list[ChunkSpan]:
    """Cut ``[0, duration)`` into the fewest chunks of at most ``max_seconds``, cut at pauses.

    Args:
        duration: the recording's length in seconds.
        powers: its loudness per 100 ms (:class:`Loudness`); without it, cuts fall at even splits.
        max_seconds: the longest chunk.

    Returns:
        Contiguous chunks covering the recording; one when it fits in one.
    """
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    count = max(math.ceil(duration / max_seconds - 1e-9), 1)
    if count == 1:
        return [ChunkSpan(index=0, start=0.0, end=duration)]
    even = duration / count
    search = min(even * SEARCH_FRACTION, MAX_SEARCH_SECONDS)
    chunks: list[ChunkSpan] = []
    start = 0.0
    for index in range(count - 1):
        # Aim at an even split of what is left, so the chunks stay balanced after moved cuts.
        aim = start + (duration - start) / (count - index)
        # Never longer than max_seconds, and never leaving more than the remaining chunks can take.
        latest = min(aim + search, start + max_seconds)
        earliest = max(aim - search, duration - (count - index - 1) * max_seconds, start + FRAME_SECONDS)
        cut = _quietest(powers, earliest, latest) if powers else aim
        chunks.append(ChunkSpan(index=index, start=start, end=cut))
        start = cut
    chunks.append(ChunkSpan(index=count - 1, start=start, end=duration))
    return chunks


def _quietest(powers: list[float], earliest: float, latest: float) -> float:
    """The centre of the quietest ``PAUSE_SECONDS`` between ``earliest`` and ``latest`` seconds.

    Ties (digital silence) go to the stretch nearest the middle of the range.
    """
    width = max(round(PAUSE_SECONDS / FRAME_SECONDS), 1)
    lo = max(math.ceil(earliest / FRAME_SECONDS), 0)
    hi = min(int(latest / FRAME_SECONDS), len(powers))
    if hi - lo < width:
        return round((earliest + latest) / 2, 3)
    window = np.convolve(np.asarray(powers[lo:hi], dtype=np.float64), np.ones(width) / width, mode="valid")
    middle = (len(window) - 1) / 2
    quiet = np.flatnonzero(window <= window.min() * (1 + 1e-6) + 1e-12)
    best = int(quiet[np.argmin(np.abs(quiet - middle))])
    return round((lo + best + width / 2) * FRAME_SECONDS, 3)
