"""One streaming pass over an upload: its true duration, channels and per-channel test.

Ingest checks an upload of up to 2 GiB lasting up to 4 hours in a function of a few hundred MB:
nothing here holds more than one decoded frame (and its 16 kHz stereo resampling) at a time,
and the object is read through a file-like (:class:`agentflow.aws.ranged.S3RangeReader`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from agentflow.speech.audio import SAMPLE_RATE, AudioDecodeError, AudioInfo, open_audio
from agentflow.speech.channels import ChannelCorrelation
from agentflow.speech.plan import Loudness


@dataclass(frozen=True)
class Scan:
    """What one pass over a recording found."""

    info: AudioInfo  # duration counted from decoded frames (headers lie)
    per_channel: bool  # two distinct voices, one per channel
    stopped_early: bool  # decoding stopped once the duration passed the limit
    loudness: list[float] = field(default_factory=list)  # mean power per 100 ms (speech.plan)


def scan(source: io.RawIOBase | BinaryIO | Path, *, max_duration: float, channel_test: bool = True) -> Scan:
    """Decode ``source`` once, counting samples per channel, measuring loudness (where to cut chunks)
    and feeding the two-channel test.

    Args:
        source: a seekable binary file-like or a path.
        max_duration: seconds; decoding stops soon after the duration passes it (the caller refuses
            the recording), so an over-long upload costs no more than an acceptable one.
        channel_test: run the per-channel test on a stereo stream (resampled to 16 kHz, as the
            test's thresholds were measured).

    Raises:
        AudioDecodeError: no decodable audio stream.
    """
    container, stream = open_audio(source)
    try:
        rate = stream.codec_context.sample_rate or 0
        channels = stream.codec_context.channels or 0
        stereo = channels == 2 and channel_test
        correlation = ChannelCorrelation()
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE) if stereo else None
        samples, stopped = 0, False
        loudness: Loudness | None = None
        for frame in container.decode(stream):
            samples += frame.samples  # per channel: a frame holds this many samples of each
            rate = rate or frame.sample_rate
            loudness = loudness or Loudness(rate)
            loudness.add(frame.to_ndarray(), frame.samples)
            if resampler is not None:
                frame.pts = None
                for out in resampler.resample(frame):
                    correlation.add(out.to_ndarray().reshape(2, -1).astype(np.float32, copy=False))
            if rate and samples / rate > max_duration:
                stopped = True
                break
        if resampler is not None and not stopped:
            for out in resampler.resample(None):
                correlation.add(out.to_ndarray().reshape(2, -1).astype(np.float32, copy=False))
        if not rate:
            raise AudioDecodeError("the audio stream has no sample rate")
        info = AudioInfo(
            duration=samples / rate,
            channels=channels,
            sample_rate=rate,
            codec=stream.codec_context.name,
            format=container.format.name,
        )
        return Scan(
            info=info,
            per_channel=stereo and correlation.participants(),
            stopped_early=stopped,
            loudness=loudness.finish() if loudness else [],
        )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        if isinstance(exc, AudioDecodeError):
            raise
        raise AudioDecodeError(f"the audio could not be decoded ({exc.__class__.__name__}: {exc})") from exc
    finally:
        container.close()
