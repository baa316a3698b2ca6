"""Every function's /tmp, memory and timeout are sized for the limits in settings (template.yaml says why).

The needs are recomputed here from ``Settings`` (MAX_UPLOAD_BYTES, MAX_DURATION_SECONDS, CHUNK_SECONDS
and the track limits), so raising a limit without resizing the functions fails this test.
"""

from __future__ import annotations

import math

import pytest
from agentflow.local.template import load_template
from agentflow.settings import Settings
from agentflow.speech.audio import SAMPLE_RATE
from agentflow.speech.chunked import CONTEXT
from agentflow.speech.plan import plan_chunks
from agentflow.speech.transcribe import OVERLAP

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
    return {
        "ApiFunction": 0,
        "SignalingFunction": 0,
        "IngestFunction": 0,  # ranged GETs, nothing written (stages.ingest)
        "AssembleFunction": _mib(opus + flac) + MARGIN_MIB,
        "TranscribeFunction": 0,  # a chunk's span by ranged GETs (stages.analysis), nothing written
        "DiarizeFunction": 0,
        "SummarizeFunction": 0,
        "WebhooksFunction": 0,
        "FailuresFunction": 0,
    }


def memory_needed(settings: Settings) -> dict[str, int]:
    """MiB of recording data a function holds at once at the limits, beyond its code and models."""
    samples = settings.max_duration_seconds * SAMPLE_RATE
    chunk = (settings.chunk_seconds + 2 * CONTEXT) * SAMPLE_RATE  # one job: its chunk and context
    return {
        # per_channel diarization decodes a chunk's both channels as float32; 2 GiB for torch's models
        "DiarizeFunction": _mib(PARTICIPANTS * FLOAT32 * chunk) + 2048,
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


# Measured on this project's 2-core machine (benchmarks/chunk_memory.py, 2026-12-02; docs/TRANSCRIPTION.md,
# docs/DIARIZATION.md "CPU of a chunk job"): CPU-seconds per audio second of a 600 s chunk job,
# transcription as if every clip fell back to the sequential path (0.13 batched), and a factor for
# whisper's temperature fallbacks and a slower CPU.
TRANSCRIBE_CPU_PER_SECOND = 0.22
DIARIZE_CPU_PER_SECOND = 0.12  # one torch thread
MARGIN = 2.0


def test_a_longer_chunk_needs_more_memory() -> None:
    # The check follows settings: 4-hour chunks would be one whole recording in memory again.
    longer = Settings(chunk_seconds=Settings().max_duration_seconds)
    fn = load_template().functions["DiarizeFunction"]
    assert fn.memory_size < memory_needed(longer)["DiarizeFunction"]


@pytest.mark.parametrize(
    "logical_id, rate, context",
    [
        ("TranscribeFunction", TRANSCRIBE_CPU_PER_SECOND, OVERLAP),
        ("DiarizeFunction", DIARIZE_CPU_PER_SECOND, CONTEXT),
    ],
)
def test_a_chunk_job_finishes_inside_the_timeout_on_one_vcpu(
    logical_id: str, rate: float, context: float
) -> None:
    settings = Settings()
    fn = load_template().functions[logical_id]
    needed = (settings.chunk_seconds + 2 * context) * rate * MARGIN
    assert needed <= fn.timeout <= 300, f"{logical_id}: Timeout {fn.timeout} s, a chunk needs {needed:.0f} s"


def test_the_longest_recording_is_cut_into_chunks_no_invocation_can_outlast() -> None:
    # a 4-hour recording: no chunk longer than CHUNK_SECONDS, so no job over the 5 minutes above
    settings = Settings()
    chunks = plan_chunks(settings.max_duration_seconds, None, max_seconds=settings.chunk_seconds)
    assert len(chunks) == 24
    assert max(c.end - c.start for c in chunks) <= settings.chunk_seconds


@pytest.mark.parametrize(
    "queue, function", [("TranscribeQueue", "TranscribeFunction"), ("DiarizeQueue", "DiarizeFunction")]
)
def test_a_queue_hides_a_job_for_six_timeouts_as_aws_advises(queue: str, function: str) -> None:
    template = load_template()
    visibility = int(template.resources[queue]["Properties"]["VisibilityTimeout"])
    assert visibility >= 6 * template.functions[function].timeout
