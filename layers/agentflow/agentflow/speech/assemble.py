"""One channel per participant from their recorder's chunks: decode, place on the call clock, fill gaps.

A track's parts, joined in order, are the byte stream MediaRecorder produced (WebM or Ogg with
absolute timestamps). Where parts are missing, the stream after the gap is decoded behind the first
part (which carries the container header): the demuxer resyncs on the next cluster (WebM) or page
(Ogg), and the frames' own timestamps put the audio back at its time. The first part's audio is
decoded again there and lands on the same samples, so repeating it is harmless.

Checked with PyAV 16 on Opus in live WebM and in Ogg, 1 s chunks with one or two dropped: audio
after the gap resumes at its true time (to the 20 ms frame), at most one frame is lost at each cut.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from agentflow.speech.audio import SAMPLE_RATE, AudioDecodeError

log = logging.getLogger(__name__)

# A jump in frame timestamps bigger than this is a gap in the stream (frames are 2.5-60 ms long).
_DISCONTINUITY_SECONDS = 0.1
# Gaps shorter than this are not reported as missing audio: a cut between parts can lose one Opus
# frame or an Ogg page (20-60 ms); a lost part is a whole timeslice (>= 1 s).
MIN_MISSING_SECONDS = 0.5
_BLOCK_SAMPLES = 10 * SAMPLE_RATE  # samples per encoded FLAC frame batch


@dataclass(frozen=True)
class Piece:
    """Continuous decoded audio placed on the call's clock."""

    start: int  # sample index at 16 kHz from the call start
    samples: npt.NDArray[np.int16]  # mono

    @property
    def end(self) -> int:
        """One past the last sample."""
        return self.start + int(self.samples.shape[0])


def decode_pieces(path: Path, *, offset_seconds: float) -> tuple[list[Piece], int]:
    """Decode a chunk stream into continuous pieces placed at ``offset_seconds`` + their timestamps.

    Args:
        path: the joined parts of one track (any container PyAV reads with one audio stream).
        offset_seconds: where the track's time zero lies on the call clock.

    Returns:
        The pieces (a new one after every jump in timestamps) and the number of corrupt packets
        skipped (the torn frame at a cut after missing parts).

    Raises:
        AudioDecodeError: the stream cannot be opened or has no audio.
    """
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioDecodeError(f"the track could not be opened as media ({exc})") from exc
    pieces: list[Piece] = []
    skipped = 0
    with container:
        if not container.streams.audio:
            raise AudioDecodeError("the track has no audio stream")
        stream = container.streams.audio[0]
        resampler: av.AudioResampler | None = None
        blocks: list[npt.NDArray[np.int16]] = []
        start, expected = 0, 0.0

        def close() -> None:
            if resampler is not None:
                blocks.extend(_mono16(f) for f in resampler.resample(None))
            if blocks:
                pieces.append(Piece(start=start, samples=np.concatenate(blocks).astype(np.int16, copy=False)))
            blocks.clear()

        try:
            for packet in container.demux(stream):
                try:
                    frames = stream.decode(packet)
                except av.error.InvalidDataError:
                    skipped += 1  # a frame torn by a missing part; the next one decodes
                    continue
                for frame in frames:
                    base = frame.time_base
                    at = float(frame.pts * base) if frame.pts is not None and base is not None else expected
                    if resampler is None or abs(at - expected) > _DISCONTINUITY_SECONDS:
                        close()
                        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                        start = max(0, round((offset_seconds + at) * SAMPLE_RATE))
                    expected = at + frame.samples / frame.sample_rate
                    frame.pts = None
                    blocks.extend(_mono16(f) for f in resampler.resample(frame))
        except av.error.FFmpegError as exc:
            # The stream breaks off (a torn last part): keep what decoded; the rest counts as missing.
            log.warning(
                "track stream %s ends in a decode error after %d pieces: %s", path.name, len(pieces), exc
            )
        close()
    return pieces, skipped


def _mono16(frame: av.AudioFrame) -> npt.NDArray[np.int16]:
    return np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1)


def merge_spans(spans: Iterable[tuple[float, float]], *, bridge: float) -> list[tuple[float, float]]:
    """Sorted disjoint spans, joining those less than ``bridge`` seconds apart."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] < bridge:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def coverage(pieces: Sequence[Piece]) -> list[tuple[float, float]]:
    """Where ``pieces`` hold audio, in seconds on the call clock (cuts shorter than a part bridged)."""
    return merge_spans(
        ((p.start / SAMPLE_RATE, p.end / SAMPLE_RATE) for p in pieces), bridge=MIN_MISSING_SECONDS
    )


def gaps(covered: Sequence[tuple[float, float]], *, end: float) -> list[tuple[float, float]]:
    """The spans of [0, end] that ``covered`` misses, each at least :data:`MIN_MISSING_SECONDS` long."""
    missing: list[tuple[float, float]] = []
    cursor = 0.0
    for start, stop in covered:
        if start - cursor >= MIN_MISSING_SECONDS:
            missing.append((cursor, min(start, end)))
        cursor = max(cursor, stop)
    if end - cursor >= MIN_MISSING_SECONDS:
        missing.append((cursor, end))
    return missing


def mix(channels: Sequence[Sequence[Piece]], *, length: int) -> npt.NDArray[np.int16]:
    """Lay each channel's pieces into ``(len(channels), length)`` int16 samples; silence elsewhere."""
    audio = np.zeros((len(channels), length), dtype=np.int16)
    for channel, pieces in enumerate(channels):
        for piece in pieces:
            stop = min(piece.end, length)
            if stop > piece.start:
                audio[channel, piece.start : stop] = piece.samples[: stop - piece.start]
    return audio


def write_flac(path: Path, audio: npt.NDArray[np.int16]) -> None:
    """Write ``audio`` (channels, samples) as 16 kHz 16-bit FLAC (lossless, about half of WAV)."""
    channels = int(audio.shape[0])
    layout = {1: "mono", 2: "stereo"}[channels]
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=SAMPLE_RATE, layout=layout)
        assert isinstance(stream, av.AudioStream)
        for begin in range(0, max(int(audio.shape[1]), 1), _BLOCK_SAMPLES):
            block = np.ascontiguousarray(audio[:, begin : begin + _BLOCK_SAMPLES].T).reshape(1, -1)
            if block.shape[1] == 0:
                break
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout=layout)
            frame.sample_rate = SAMPLE_RATE
            frame.pts = begin
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
