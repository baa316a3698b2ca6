"""Ingest checks a large upload streaming: peak memory stays far below the decoded file's size.

An 8-minute stereo WAV (31 MB; 61 MB as the 16 kHz float32 samples the channel test reads) is
scanned from S3 in a separate process, whose peak RSS is measured around the scan alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from agentflow.aws.clients import client
from agentflow.aws.ranged import DEFAULT_BLOCK_BYTES
from agentflow.local.stack import LocalStack

MINUTES = 8
RATE = 16_000
DECODED_BYTES = MINUTES * 60 * RATE * 2 * 4  # (2 channels, samples) of float32
# What the scan may add to the process's peak RSS: one ranged-GET block (4 MiB), FFmpeg's buffers, a
# frame and its resampling. Measured 6.3 MiB on this file (2026-12-01, 2 shared cores); the
# whole-file decode ingest did before (probe, then decode(mono=False)) added 187 MiB.
PEAK_BOUND_BYTES = 24 * 1024 * 1024

# Peak RSS of the scan alone: VmHWM is reset (clear_refs 5) after the imports, so their own peak
# cannot hide the scan's; what is added is that peak minus the resident size before the scan.
SCAN = """
import json, sys
from pathlib import Path
from agentflow.aws.clients import client
from agentflow.aws.ranged import S3RangeReader
from agentflow.stages.ingest import check_audio
def status_kb(field):
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field))
    return int(line.split()[1])
bucket, key = sys.argv[1], sys.argv[2]
s3 = client("s3")
head = s3.head_object(Bucket=bucket, Key=key)
Path("/proc/self/clear_refs").write_text("5")
before = status_kb("VmRSS:")
reader = S3RangeReader(s3, bucket=bucket, key=key, size=head["ContentLength"], version_id=head.get("VersionId"))
scanned = check_audio(reader, max_duration=4 * 3600)
after = status_kb("VmHWM:")
print(json.dumps({"added_kb": after - before, "before_kb": before, "duration": scanned.info.duration, "channels": scanned.info.channels,
                  "per_channel": scanned.per_channel, "gets": reader.gets, "largest_get": reader.largest_get}))
"""


def _write_stereo_wav(path: Path, *, minutes: int) -> Path:
    """Two independent noise channels (two voices, as the channel test sees them), written in blocks."""
    rng = np.random.default_rng(18)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for _ in range(minutes):
            block = rng.integers(-8000, 8000, size=(60 * RATE, 2), dtype=np.int16)
            out.writeframes(block.tobytes())
    return path


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(api=False, pollers=False) as running:
        yield running


def test_ingest_scans_a_large_upload_in_bounded_memory(stack: LocalStack, tmp_path: Path) -> None:
    # GIVEN an 8-minute stereo upload in the recordings bucket
    path = _write_stereo_wav(tmp_path / "long.wav", minutes=MINUTES)
    bucket, key = stack.ref("RecordingsBucket"), "uploads/long.wav"  # outside recordings/: no event
    client("s3").upload_file(str(path), bucket, key)
    # WHEN ingest's check runs on it in a process of its own
    done = subprocess.run(
        [sys.executable, "-c", SCAN, bucket, key],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # THEN it found the true duration and the two voices, reading by ranges of one block at most,
    assert result["duration"] == pytest.approx(MINUTES * 60, abs=0.01)
    assert (result["channels"], result["per_channel"]) == (2, True)
    assert result["largest_get"] <= DEFAULT_BLOCK_BYTES
    assert result["gets"] >= path.stat().st_size // DEFAULT_BLOCK_BYTES
    # and its peak memory grew by far less than the decoded file (or even the file itself)
    added = result["added_kb"] * 1024
    assert added < PEAK_BOUND_BYTES < DECODED_BYTES / 2, f"peak RSS grew by {added / 2**20:.0f} MiB"
