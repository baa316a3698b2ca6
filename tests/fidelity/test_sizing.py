"""Every function's /tmp and memory are sized for the limits in settings (template.yaml says why).

The needs are recomputed here from ``Settings`` (MAX_UPLOAD_BYTES, MAX_DURATION_SECONDS and the
track limits), so raising a limit without resizing the functions fails this test.
"""

from __future__ import annotations

import math

import pytest
from agentflow.local.template import load_template
from agentflow.settings import Settings
from agentflow.speech.audio import SAMPLE_RATE

MIB = 1024**2
MARGIN_MIB = 512  # the runtime's own files, partial downloads, a retry's leftovers
FLOAT32, INT16 = 4, 2
# Chrome's Opus is at most 128 kbit/s (settings: track limits); a session has two participants.
OPUS_BYTES_PER_SECOND = 128_000 // 8
PARTICIPANTS = 2


def _mib(size: float) -> int:
    return math.ceil(size / MIB)


def tmp_needed(settings: Settings) -> dict[str, int]:
    """MiB of /tmp each function's stage writes at the limits (0: it writes nothing)."""
    duration = settings.max_duration_seconds
    # Assemble keeps each part and the run it joins them into (two copies of a track's Opus), and
    # writes the FLAC, which is at most the raw int16 PCM of both channels.
    opus = PARTICIPANTS * 2 * OPUS_BYTES_PER_SECOND * duration
    flac = PARTICIPANTS * INT16 * SAMPLE_RATE * duration
    upload = _mib(settings.max_upload_bytes) + MARGIN_MIB  # stages.common.downloaded: the whole upload
    return {
        "ApiFunction": 0,
        "SignalingFunction": 0,
        "IngestFunction": 0,  # ranged GETs, nothing written (stages.ingest)
        "AssembleFunction": _mib(opus + flac) + MARGIN_MIB,
        "TranscribeFunction": upload,
        "DiarizeFunction": upload,
        "SummarizeFunction": 0,
        "WebhooksFunction": 0,
        "FailuresFunction": 0,
    }


def memory_needed(settings: Settings) -> dict[str, int]:
    """MiB of recording data a function holds at once at the limits, beyond its code and models."""
    samples = settings.max_duration_seconds * SAMPLE_RATE
    return {
        # per_channel diarization decodes both channels whole as float32; 2 GiB for torch's models
        "DiarizeFunction": _mib(PARTICIPANTS * FLOAT32 * samples) + 2048,
        # assemble holds the built audio whole as int16, beside the decoder
        "AssembleFunction": _mib(PARTICIPANTS * INT16 * samples) + 256,
    }


def test_every_function_is_sized() -> None:
    assert set(load_template().functions) == set(tmp_needed(Settings()))


@pytest.mark.parametrize("logical_id", sorted(tmp_needed(Settings())))
def test_ephemeral_storage_holds_what_the_stage_writes(logical_id: str) -> None:
    fn = load_template().functions[logical_id]
    needed = max(tmp_needed(Settings())[logical_id], 512)
    assert 512 <= fn.ephemeral_storage <= 10240, "outside Lambda's range"
    assert fn.ephemeral_storage >= needed, f"{logical_id}: {fn.ephemeral_storage} MB of /tmp, needs {needed}"


@pytest.mark.parametrize("logical_id", sorted(tmp_needed(Settings())))
def test_memory_holds_what_the_stage_decodes(logical_id: str) -> None:
    fn = load_template().functions[logical_id]
    assert 128 <= fn.memory_size <= 10240, "outside Lambda's range"
    needed = memory_needed(Settings()).get(logical_id, 0)
    assert fn.memory_size >= needed, f"{logical_id}: {fn.memory_size} MB, needs {needed} MiB at the limits"


def test_a_larger_upload_limit_needs_more_tmp() -> None:
    # The check follows settings: double the upload limit and transcribe's /tmp is too small.
    bigger = Settings(max_upload_bytes=2 * Settings().max_upload_bytes)
    fn = load_template().functions["TranscribeFunction"]
    assert fn.ephemeral_storage < tmp_needed(bigger)["TranscribeFunction"]
