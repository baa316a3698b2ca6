"""Decoding a span of a recording (issue 19's chunk jobs): the same samples as a whole decode holds there."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from agentflow.speech.audio import SAMPLE_RATE, decode, iter_chunks

SPANS = [(0.0, 5.0), (3.3, 7.9), (12.25, 20.0), (20.0, None)]


def _encode(source: np.ndarray, out: Path, *, container: str, codec: str, rate: int) -> Path:
    with av.open(str(out), "w", format=container) as handle:
        stream = handle.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(source.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for piece in resampler.resample(frame):
            for packet in stream.encode(piece):
                handle.mux(packet)
        for packet in stream.encode(None):
            handle.mux(packet)
    return out


def _best_lag(part: np.ndarray, whole: np.ndarray, first: int) -> int:
    probe = slice(1000, 5000)
    return min(
        range(-200, 201),
        key=lambda lag: float(np.abs(part[probe] - whole[first + lag + 1000 : first + lag + 5000]).mean()),
    )


@pytest.mark.parametrize("start, end", SPANS)
def test_a_span_of_16k_audio_is_exactly_the_whole_decodes_samples(
    data_dir: Path, start: float, end: float | None
) -> None:
    whole = decode(data_dir / "dev00.wav")
    part = decode(data_dir / "dev00.wav", start=start, end=end)
    expected = whole[:, round(start * SAMPLE_RATE) : None if end is None else round(end * SAMPLE_RATE)]
    assert part.shape == expected.shape
    assert np.array_equal(part, expected)


@pytest.mark.parametrize(
    "container, codec, rate", [("flac", "flac", 16000), ("ogg", "libopus", 48000), ("webm", "libopus", 48000)]
)
def test_a_span_of_compressed_audio_lines_up_with_the_whole_decode(
    data_dir: Path, tmp_path: Path, container: str, codec: str, rate: int
) -> None:
    """Seeking lands within half a millisecond of where a whole decode has the same audio."""
    path = _encode(
        decode(data_dir / "dev00.wav")[0],
        tmp_path / f"x.{container}",
        container=container,
        codec=codec,
        rate=rate,
    )
    whole = decode(path)[0]
    for start, end in SPANS[1:3]:
        part = decode(path, start=start, end=end)[0]
        assert part.shape[0] == round((end - start) * SAMPLE_RATE)
        assert abs(_best_lag(part, whole, round(start * SAMPLE_RATE))) <= 8  # 0.5 ms


def test_a_span_reads_from_a_file_like_and_in_bounded_blocks(data_dir: Path) -> None:
    with (data_dir / "dev01.wav").open("rb") as handle:
        blocks = list(iter_chunks(handle, mono=True, chunk_seconds=2.0, start=10.0, end=17.0))
    assert len(blocks) == 4 and max(b.shape[1] for b in blocks) < 2.1 * SAMPLE_RATE  # about 2 s each
    assert sum(b.shape[1] for b in blocks) == 7 * SAMPLE_RATE
    assert np.array_equal(np.concatenate(blocks, axis=1), decode(data_dir / "dev01.wav")[:, 160000:272000])


def test_a_span_past_the_end_is_empty_and_a_resampled_source_keeps_its_length(data_dir: Path) -> None:
    assert decode(data_dir / "jfk.flac", start=30.0, end=40.0).shape == (1, 0)
    part = decode(data_dir / "jfk.flac", start=3.3, end=7.9)  # 44.1 kHz stereo
    assert part.shape == (1, round(4.6 * SAMPLE_RATE))
