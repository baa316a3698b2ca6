"""Planning chunk jobs (issue 19): contiguous spans, no longer than asked, cut in pauses."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.speech.plan import FRAME_SECONDS, Loudness, plan_chunks
from agentflow.speech.scan import scan

from benchmarks.long_audio import conversation


def _check(chunks: list, duration: float, max_seconds: float) -> None:
    assert chunks[0].start == 0.0 and chunks[-1].end == duration
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(b.start == a.end for a, b in itertools.pairwise(chunks))
    assert all(0 < c.end - c.start <= max_seconds + 1e-9 for c in chunks)


@pytest.mark.parametrize("duration", [0.5, 30.0, 600.0, 600.001, 601.0, 3600.0, 4 * 3600.0])
def test_the_plan_covers_the_recording_in_the_fewest_chunks_no_longer_than_asked(duration: float) -> None:
    rng = np.random.default_rng(0)
    powers = list(rng.random(int(duration / FRAME_SECONDS) + 1))
    chunks = plan_chunks(duration, powers, max_seconds=600.0)
    _check(chunks, duration, 600.0)
    assert len(chunks) == max(int(np.ceil(duration / 600.0 - 1e-9)), 1)


def test_a_recording_that_fits_is_one_chunk_and_no_loudness_means_even_cuts() -> None:
    assert [(c.start, c.end) for c in plan_chunks(599.0, [], max_seconds=600.0)] == [(0.0, 599.0)]
    chunks = plan_chunks(1500.0, None, max_seconds=600.0)
    assert [round(c.end - c.start) for c in chunks] == [500, 500, 500]


def test_each_cut_lands_in_the_quietest_stretch_near_an_even_split() -> None:
    # GIVEN 25 minutes of loud audio with short pauses at 480 s, 530 s and 1010 s
    powers = [1.0] * int(1500 / FRAME_SECONDS)
    for pause in (480.0, 530.0, 1010.0):
        for i in range(int((pause - 0.4) / FRAME_SECONDS), int((pause + 0.4) / FRAME_SECONDS)):
            powers[i] = 0.01
    # WHEN it is planned in chunks of at most 10 minutes
    chunks = plan_chunks(1500.0, powers, max_seconds=600.0)
    # THEN three chunks, cut in the pauses nearest the even split at 500 s and 1000 s
    _check(chunks, 1500.0, 600.0)
    assert [round(c.end, 1) for c in chunks[:-1]] == [
        pytest.approx(480.0, abs=0.3),
        pytest.approx(1010.0, abs=0.3),
    ]


def test_a_cut_never_makes_a_chunk_longer_than_asked_even_for_a_far_pause() -> None:
    powers = [1.0] * int(1250 / FRAME_SECONDS)
    powers[int(640 / FRAME_SECONDS) : int(641 / FRAME_SECONDS)] = [0.0] * 10  # past the limit
    chunks = plan_chunks(1250.0, powers, max_seconds=600.0)
    _check(chunks, 1250.0, 600.0)


def test_loudness_has_one_value_per_100_ms_whatever_the_frame_sizes() -> None:
    loud = Loudness(rate=48000)
    samples = np.concatenate([np.zeros(48000), np.ones(48000)]).astype(np.float32)
    position = 0
    for size in itertools.cycle([960, 1024, 4096, 333]):
        if position >= samples.size:
            break
        frame = samples[position : position + size]
        loud.add(frame, frame.size)
        position += size
    powers = loud.finish()
    assert len(powers) == 20
    assert max(powers[:9]) == 0.0 and min(powers[11:]) == 1.0


def test_ingest_s_scan_measures_loudness_and_the_plan_cuts_between_words(tmp_path: Path) -> None:
    # GIVEN a 4-minute real two-party conversation (AMI speech) with its reference turns
    path, turns = conversation(4, tmp_path / "talk.wav")
    # WHEN ingest's scan reads it and the plan cuts it into chunks of at most 60 s
    scanned = scan(path, max_duration=3600)
    duration = decode(path).shape[1] / SAMPLE_RATE
    assert len(scanned.loudness) == pytest.approx(duration / FRAME_SECONDS, abs=1)
    chunks = plan_chunks(duration, scanned.loudness, max_seconds=60.0)
    # THEN most cuts fall where nobody speaks (the reference's turns include short pauses, and a
    # cut inside speech is allowed: the merges place the seams)
    _check(chunks, duration, 60.0)
    inside = [c.end for c in chunks[:-1] if any(t.start < c.end < t.end for t in turns)]
    print(
        f"cuts {[round(c.end, 2) for c in chunks[:-1]]}, inside a reference turn: {inside}", file=sys.stderr
    )
    assert len(inside) <= len(chunks[:-1]) // 2
