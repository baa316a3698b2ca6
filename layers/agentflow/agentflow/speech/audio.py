"""Audio probing and decoding with PyAV (no system ffmpeg needed).

Everything downstream works on 16 kHz float32 PCM, the rate whisper and pyannote expect.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about its first audio stream."""

    duration: float  # seconds
    channels: int
    sample_rate: int  # Hz, as stored (before resampling)
    codec: str
    format: str


class AudioDecodeError(ValueError):
    """The file has no decodable audio stream."""


def open_audio(source: Path | io.RawIOBase | BinaryIO) -> tuple[Any, Any]:
    """Open ``source`` with PyAV and return ``(container, its first audio stream)``; close the container.

    Raises:
        AudioDecodeError: not media, or media without an audio stream.
    """
    try:
        container = av.open(str(source) if isinstance(source, Path) else source, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioDecodeError(f"the file could not be opened as media ({exc})") from exc
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError("the file has no audio stream")
    return container, container.streams.audio[0]


def probe(path: Path) -> AudioInfo:
    """Read the container header and decode to the end to measure the true duration.

    Headers lie (or are absent, as in browser-made webm), so the duration is counted from decoded
    frames; decoding without resampling is cheap next to transcription.
    """
    container, stream = open_audio(path)
    try:
        rate = stream.codec_context.sample_rate or 0
        channels = stream.codec_context.channels or 0
        samples = 0
        for frame in container.decode(stream):
            samples += frame.samples
            rate = rate or frame.sample_rate
        if not rate:
            raise AudioDecodeError("the audio stream has no sample rate")
        return AudioInfo(
            duration=samples / rate,
            channels=channels,
            sample_rate=rate,
            codec=stream.codec_context.name,
            format=container.format.name,
        )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        if isinstance(exc, AudioDecodeError):
            raise
        raise AudioDecodeError(f"the audio could not be decoded ({exc.__class__.__name__}: {exc})") from exc
    finally:
        container.close()


def iter_chunks(path: Path, *, mono: bool, chunk_seconds: float = 30.0) -> Iterator[npt.NDArray[np.float32]]:
    """Yield 16 kHz float32 blocks of about ``chunk_seconds`` each, shape (channels, samples).

    Memory stays bounded by one block however long the recording is.
    """
    layout = "mono" if mono else None
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        channels = 1 if mono else max(stream.codec_context.channels or 1, 1)
        resampler = av.AudioResampler(
            format="fltp", layout=layout or stream.codec_context.layout.name, rate=SAMPLE_RATE
        )
        target = int(chunk_seconds * SAMPLE_RATE)
        pending: list[npt.NDArray[np.float32]] = []
        have = 0
        for frame in container.decode(stream):
            frame.pts = None
            for out in resampler.resample(frame):
                block = out.to_ndarray().reshape(channels, -1).astype(np.float32, copy=False)
                pending.append(block)
                have += block.shape[1]
                if have >= target:
                    yield np.concatenate(pending, axis=1)
                    pending, have = [], 0
        for out in resampler.resample(None):
            pending.append(out.to_ndarray().reshape(channels, -1).astype(np.float32, copy=False))
        if pending:
            yield np.concatenate(pending, axis=1)


def decode(path: Path, *, mono: bool = True) -> npt.NDArray[np.float32]:
    """Decode a whole file to 16 kHz float32, shape (channels, samples)."""
    blocks = list(iter_chunks(path, mono=mono, chunk_seconds=60.0))
    if not blocks:
        return np.zeros((1, 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1)
