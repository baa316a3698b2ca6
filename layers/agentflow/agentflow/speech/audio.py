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


Source = Path | io.RawIOBase | BinaryIO


def iter_chunks(
    source: Source,
    *,
    mono: bool,
    chunk_seconds: float = 30.0,
    start: float = 0.0,
    end: float | None = None,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield 16 kHz float32 blocks of about ``chunk_seconds`` each, shape (channels, samples).

    With ``start`` / ``end`` (seconds), only that span: the first block begins at sample
    ``round(start * 16000)`` of the whole decoded stream and the last ends at ``round(end * 16000)``
    (or the stream's end): the same samples as a whole decode holds there (exactly for 16 kHz audio;
    within the resampler's settling, a few samples, for other rates).
    The container is seeked near ``start`` when it can be (WAV, FLAC, MP4, Ogg); where it cannot
    (a browser's WebM without cues) decoding starts at the beginning and the head is discarded.
    Memory stays bounded by one block however long the recording is.
    """
    first = round(start * SAMPLE_RATE)
    last = None if end is None else round(end * SAMPLE_RATE)
    container, stream = open_audio(source)
    try:
        channels = 1 if mono else max(stream.codec_context.channels or 1, 1)
        layout = "mono" if mono else stream.codec_context.layout.name
        target = max(int(chunk_seconds * SAMPLE_RATE), 1)
        pending: list[npt.NDArray[np.float32]] = []
        have = 0
        for position, block in _resampled(container, stream, first, layout=layout, channels=channels):
            lo = max(first - position, 0)
            hi = block.shape[1] if last is None else min(last - position, block.shape[1])
            if hi > lo:
                pending.append(block[:, lo:hi])
                have += hi - lo
            if have >= target:
                yield np.concatenate(pending, axis=1)
                pending, have = [], 0
            if last is not None and position + block.shape[1] >= last:
                break
        if pending:
            yield np.concatenate(pending, axis=1)
    finally:
        container.close()


def _resampled(
    container: Any, stream: Any, first: int, *, layout: str, channels: int
) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """``(16 kHz sample the block starts at, block)`` from near ``first`` on.

    Seeks a second before ``first`` (the demuxer lands on a packet at or before it; codecs with
    pre-roll settle on audio that is discarded anyway) and reads where decoding resumed from the
    first frame's timestamp. Without a seek, or without timestamps, it counts from sample 0.
    """
    position = 0
    seeked = False
    zero = _first_pts(container, stream) if first > SAMPLE_RATE and stream.time_base is not None else None
    if zero is not None:
        target = int((first / SAMPLE_RATE - 1.0) / stream.time_base) + zero
        try:
            container.seek(target, stream=stream, backward=True, any_frame=False)
            seeked = True
        except av.error.FFmpegError:  # not seekable: decode from the start
            container.seek(0, stream=stream)
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
    frames = container.decode(stream)
    for frame in frames:
        if seeked:
            seeked = False
            if frame.pts is None:  # nowhere to count from: start again from the top
                yield from _resampled(_reopened(container), stream, 0, layout=layout, channels=channels)
                return
            seconds = float((frame.pts - zero) * stream.time_base)
            position = max(round(seconds * SAMPLE_RATE), 0)
        frame.pts = None
        for out in resampler.resample(frame):
            block = out.to_ndarray().reshape(channels, -1).astype(np.float32, copy=False)
            yield position, block
            position += block.shape[1]
    for out in resampler.resample(None):
        block = out.to_ndarray().reshape(channels, -1).astype(np.float32, copy=False)
        yield position, block
        position += block.shape[1]


def _first_pts(container: Any, stream: Any) -> int | None:
    """The timestamp of the stream's first decoded frame (sample 0 of a whole decode), rewound.

    Not ``stream.start_time``: codecs with pre-skip (Opus) start their first frame after it.
    """
    try:
        for frame in container.decode(stream):
            pts: int | None = frame.pts
            break
        else:
            return None
        container.seek(0, stream=stream)
    except av.error.FFmpegError:
        return None
    return pts


def _reopened(container: Any) -> Any:
    container.seek(0, stream=container.streams.audio[0])
    return container


def decode(
    source: Source, *, mono: bool = True, start: float = 0.0, end: float | None = None
) -> npt.NDArray[np.float32]:
    """Decode a whole file (or the span ``start``–``end`` s, see :func:`iter_chunks`) to 16 kHz
    float32, shape (channels, samples)."""
    blocks = list(iter_chunks(source, mono=mono, chunk_seconds=60.0, start=start, end=end))
    if not blocks:
        return np.zeros((1, 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1)
