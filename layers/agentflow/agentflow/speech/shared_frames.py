"""pyannote's ``SpeakerDiarization`` with its speaker embeddings from one CAM++ pass over the file.

Embeddings are extracted once per file rather than once per (chunk, local speaker): CAM++ runs over
the recording in overlapping windows and each (chunk, speaker) embedding is a masked statistics
pooling of those shared frames, ~30x less embedding work than the stock pipeline (10 s chunks
every second, three local speakers each). Segmentation's SincNet front end runs once per file too
(:func:`sliding_segmentation`), and the pipeline resegments its turns on 0.1 s cells
(:mod:`agentflow.speech.resegment`). :mod:`agentflow.speech.diarize` builds it from the verified
weights and turns its output into the stage's turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from pyannote.audio import Model
from pyannote.audio.core.plda import PLDA
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.audio.pipelines.clustering import AgglomerativeClustering
from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
from pyannote.core import Annotation, SlidingWindow, SlidingWindowFeature

from agentflow.speech.audio import SAMPLE_RATE
from agentflow.speech.campplus import FRAME_STEP_SAMPLES, CAMPPlusEmbedding
from agentflow.speech.diarization import Turn
from agentflow.speech.resegment import CELL, WINDOW, cell_masks, resegment

EMBEDDING_EXCLUDE_OVERLAP = False
# Each local speaker track is cut into this many time slices, each embedded and clustered on its
# own; a slice trains the clustering when its speaker talks alone for this fraction of it.
SLICES = 5
MIN_ACTIVE = 0.3
SEGMENTATION_BATCH = 8
# segmentation-3.0's LSTM runs on this many windows at once (sliding_segmentation; its SincNet front
# end runs one window at a time).
_LSTM_BATCH = 32
# CAM++ runs over the file in windows of this many seconds; every frame kept is at least
# ``_EMBEDDING_MARGIN`` seconds from a window edge (except at the file's own edges).
_EMBEDDING_WINDOW = 10.0
_EMBEDDING_MARGIN = 1.0
# (chunk, speaker) embeddings pooled per batch of this many chunks (bounds memory: the pooling's
# float64 moments of 16 chunks of 500 frames x 512 channels are 66 MB).
_POOL_BATCH = 16
_FRAMES_CACHE = "training_cache/campplus_frames"
# A CAM++ window is run when speech lies within this many seconds of the frames it gives: the
# resegmentation's windows read frames under the final turns, whose edges are on segmentation's
# grid, not CAM++'s; a second is far more than the two grids can differ.
_SPEECH_REACH = 1.0
# Where get_embeddings leaves the file's CAM++ frames for the resegmentation in apply.
_FRAMES_KEY = "agentflow/campplus_frames"
# Window embeddings for the resegmentation, per batch of this many cells (bounds memory: the float64
# moments of 128 cells of 50 frames x 512 channels are 52 MB).
_RESEGMENT_BATCH = 128


class PipelineHook(Protocol):
    """pyannote's progress callback: ``hook(step_name, step_artefact, file=..., total=..., completed=...)``."""

    def __call__(
        self,
        step_name: str,
        step_artefact: Any,
        /,
        file: Any = None,
        total: int | None = None,
        completed: int | None = None,
    ) -> Any: ...


class NoPLDA(PLDA):
    """Stands in for the PLDA ``SpeakerDiarization`` insists on: only VBx clustering uses one, and
    no PLDA was ever trained for CAM++ embeddings."""

    def __init__(self) -> None:
        # Deliberately no PLDA.__init__: it would read transform/PLDA .npz files that do not exist.
        self.lda_dimension = 0

    def __call__(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        raise NotImplementedError("no PLDA exists for CAM++ embeddings; use agglomerative clustering")


class _SlicedClustering(AgglomerativeClustering):
    """Agglomerative clustering whose "active enough to train on" test fits shorter slices.

    pyannote trains the clustering only on embeddings whose speaker talks alone for 20 % of the
    chunk; a slice is a fraction of a chunk, so the ratio shrinks with it.
    """

    def __init__(self, *, min_active_ratio: float) -> None:
        super().__init__(metric="cosine")
        self.min_active_ratio = min_active_ratio

    def filter_embeddings(
        self,
        embeddings: npt.NDArray[np.float32],
        segmentations: SlidingWindowFeature | None = None,
        min_active_ratio: float = 0.2,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """pyannote's filter with this instance's ratio (the caller's default is ignored)."""
        result: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]] = (
            super().filter_embeddings(
                embeddings, segmentations=segmentations, min_active_ratio=self.min_active_ratio
            )
        )
        return result


@dataclass
class CellsOutput(DiarizeOutput):
    """pyannote's output plus the resegmentation's cell embeddings, which the chunk artifact carries."""

    # (cells, 192) one window embedding per CELL seconds from the file's start; NaN rows where none.
    cell_embeddings: npt.NDArray[np.float32] | None = None


def stock_options(segmentation: Model, embedding: CAMPPlusEmbedding, step: float) -> dict[str, Any]:
    """``SpeakerDiarization``'s arguments for these models: ours and the stock baseline alike."""
    return {
        "segmentation": segmentation,
        "segmentation_step": step,
        "embedding": embedding,
        "embedding_exclude_overlap": EMBEDDING_EXCLUDE_OVERLAP,
        "plda": NoPLDA(),
        "clustering": "AgglomerativeClustering",
        "segmentation_batch_size": SEGMENTATION_BATCH,
    }


class SharedFramesDiarization(SpeakerDiarization):
    """``SpeakerDiarization`` whose embeddings share one CAM++ pass over the whole file.

    The stock pipeline crops every 10 s chunk (one per second) and runs the embedding model on it
    once per local speaker. Here CAM++ frames are computed once, and the embedding of speaker ``s``
    in chunk ``c`` pools the frames of ``c``'s time span under ``s``'s activity. Segmentation,
    speaker counting, clustering and reconstruction are pyannote's own.
    """

    def __init__(
        self,
        *,
        segmentation: Model,
        embedding: CAMPPlusEmbedding,
        step: float,
        slices: int = SLICES,
        min_active: float = MIN_ACTIVE,
        resegment: bool = True,
    ) -> None:
        super().__init__(**stock_options(segmentation, embedding, step))
        self._campplus = embedding
        self.slices = slices
        self.resegment = resegment
        self.clustering = _SlicedClustering(min_active_ratio=min_active / slices)

    def apply(  # type: ignore[override]
        self,
        file: dict[str, Any],
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        hook: PipelineHook | None = None,
        **kwargs: Any,
    ) -> DiarizeOutput:
        """pyannote's diarization, then who speaks each cell re-decided by embedding (:mod:`~agentflow.speech.resegment`).

        Returns:
            The output with resegmented turns; ``speaker_embeddings`` in the order of the labels
            that still speak, each the mean of the cells that speaker now holds.
        """
        output = super().apply(
            file,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            hook=hook,
            **kwargs,
        )
        frames = file.pop(_FRAMES_KEY, None)
        assert isinstance(output, DiarizeOutput)  # legacy=False
        if not self.resegment or frames is None:
            return output
        return self.resegmented(output, frames, duration=file["waveform"].shape[-1] / SAMPLE_RATE)

    def resegmented(self, output: DiarizeOutput, frames: torch.Tensor, *, duration: float) -> DiarizeOutput:
        """``output`` with each cell of speech given to the speaker whose centroid its window is nearest."""
        labels = [str(label) for label in output.speaker_diarization.labels()]
        turns = turns_of(output.speaker_diarization)
        exclusive = turns_of(output.exclusive_speaker_diarization)
        if not labels:
            return output
        embeddings = self.cell_embeddings(frames, turns, duration=duration)
        if len(labels) < 2:
            # Nothing to re-decide here; the merge may still split the speaker against the others.
            return CellsOutput(
                speaker_diarization=output.speaker_diarization,
                exclusive_speaker_diarization=output.exclusive_speaker_diarization,
                speaker_embeddings=output.speaker_embeddings,
                cell_embeddings=embeddings,
            )
        window_cells = round(WINDOW / CELL)
        new_turns, new_exclusive = resegment(turns, exclusive, labels, embeddings, window_cells=window_cells)
        annotation = annotation_of(new_turns)
        rows = [labels.index(str(label)) for label in annotation.labels()]
        centroids = output.speaker_embeddings
        if centroids is not None and len(centroids) == len(labels):
            # Each local speaker's centroid is re-made from the cells it now holds: the merge
            # clusters local speakers by them, and pyannote's centroid still describes the old
            # turns (dev01: DER 30.9 % with the old centroids, 25.1 % with these).
            cells = cell_masks(new_exclusive, labels, embeddings.shape[0])
            centroids = centroids.copy()
            for k in range(len(labels)):
                chosen = cells[k] & np.isfinite(embeddings[:, 0])
                if chosen.any():
                    units = embeddings[chosen] / np.linalg.norm(embeddings[chosen], axis=1, keepdims=True)
                    centroids[k] = units.mean(axis=0)
        return CellsOutput(
            speaker_diarization=annotation,
            exclusive_speaker_diarization=annotation_of(new_exclusive),
            speaker_embeddings=None if centroids is None else centroids[rows],
            cell_embeddings=embeddings,
        )

    def cell_embeddings(
        self, frames: torch.Tensor, turns: list[Turn], *, duration: float
    ) -> npt.NDArray[np.float32]:
        """One CAM++ embedding per cell: the file frames within ``WINDOW`` of its centre, under speech.

        Args:
            frames: (channels, frames) from :meth:`file_frames`.
            turns: where anybody speaks (the pipeline's turns).
            duration: seconds of audio.

        Returns:
            (cells, 192) embeddings; NaN rows for cells outside speech or with under 0.1 s of it.
        """
        total = frames.shape[1]
        rate = SAMPLE_RATE / FRAME_STEP_SAMPLES  # frames per second
        speech = np.zeros(total, dtype=np.float32)
        for turn in turns:
            speech[max(0, int(turn.start * rate)) : max(0, int(np.ceil(turn.end * rate)))] = 1.0
        cells = int(np.ceil(duration / CELL))
        centres = np.round((np.arange(cells) + 0.5) * CELL * rate).astype(np.int64)
        half = round(WINDOW * rate / 2)
        offsets = np.arange(-half, half)
        index = centres[:, None] + offsets  # (cells, window frames)
        inside = (index >= 0) & (index < total)
        weights = speech[index.clip(0, total - 1)] * inside
        centre_speech = speech[centres.clip(0, total - 1)] > 0
        chosen = np.flatnonzero(centre_speech & (weights.sum(axis=1) >= 0.1 * rate))
        out = np.full((cells, self._campplus.dimension), np.nan, dtype=np.float32)
        with torch.inference_mode():
            for first in range(0, chosen.size, _RESEGMENT_BATCH):
                batch = chosen[first : first + _RESEGMENT_BATCH]
                window = frames[:, torch.from_numpy(index[batch].clip(0, total - 1))].permute(1, 0, 2)
                out[batch] = self._campplus.forward_embedding(
                    window, torch.from_numpy(weights[batch])
                ).numpy()
        return out

    def get_segmentations(
        self, file: dict[str, Any], hook: PipelineHook | None = None
    ) -> SlidingWindowFeature:
        """pyannote's local segmentation, each local speaker split into ``slices`` disjoint time slices.

        segmentation-3.0 sometimes keeps two voices on one local track for a whole 10 s chunk (a
        change of speaker after a short pause, as in dev01.wav) and the pipeline can only cluster
        whole tracks. Each slice (10 s / ``slices``) gets its own embedding and cluster instead; the
        slices partition the track, so speaker counting and reconstruction are unchanged.

        Returns:
            (num_chunks, num_frames, local_speakers * slices) activations.
        """
        segmentations: SlidingWindowFeature
        if self.training or not _shares_front_end(self._segmentation.model):
            segmentations = super().get_segmentations(file, hook=hook)
        else:
            waveform, _ = self._segmentation.model.audio(file)
            segmentations = sliding_segmentation(self._segmentation, waveform, hook=hook)
        if self.slices == 1:
            return segmentations
        data = segmentations.data
        chunks, frames, speakers = data.shape
        sliced = np.zeros((chunks, frames, speakers * self.slices), dtype=data.dtype)
        bounds = np.linspace(0, frames, self.slices + 1).round().astype(int)
        for k in range(self.slices):
            sliced[:, bounds[k] : bounds[k + 1], k * speakers : (k + 1) * speakers] = data[
                :, bounds[k] : bounds[k + 1], :
            ]
        return SlidingWindowFeature(sliced, segmentations.sliding_window)

    def file_frames(
        self, waveform: torch.Tensor, speech: npt.NDArray[np.bool_] | None = None
    ) -> torch.Tensor:
        """CAM++ trunk frames over a whole file, or over the windows that hold speech.

        Args:
            waveform: (1, samples) 16 kHz mono audio.
            speech: optional (frames,) where any local speaker is active, on the frame grid; a
                window none of whose kept frames is within ``_SPEECH_REACH`` of speech is not run
                (its frames stay zero: every pooling is masked by speech, so none reads them).

        Returns:
            (channels, frames) features, one frame per ``FRAME_STEP_SAMPLES`` samples from sample 0.
        """
        samples = waveform.shape[-1]
        window = int(_EMBEDDING_WINDOW * SAMPLE_RATE)
        margin_frames = int(_EMBEDDING_MARGIN * SAMPLE_RATE) // FRAME_STEP_SAMPLES
        hop = window - 2 * margin_frames * FRAME_STEP_SAMPLES
        if samples <= window:
            starts = [0]
        else:
            starts = list(range(0, samples - window, hop))
            # The last window ends at the file's end, on the frame grid.
            starts.append((samples - window) // FRAME_STEP_SAMPLES * FRAME_STEP_SAMPLES)
        total = samples // FRAME_STEP_SAMPLES + 1
        reach = round(_SPEECH_REACH * SAMPLE_RATE / FRAME_STEP_SAMPLES)
        said: npt.NDArray[np.int64] | None = None  # said[i]: speech frames in [0, i)
        if speech is not None:
            said = np.concatenate([[0], np.cumsum(speech[:total], dtype=np.int64)])
        frames = torch.zeros((self._campplus.channels, total), dtype=torch.float32)
        with torch.inference_mode():
            for index, start in enumerate(starts):
                first = start // FRAME_STEP_SAMPLES
                keep = 0 if index == 0 else margin_frames
                stop = min(first + self._campplus.num_frames(min(window, samples - start)), total)
                if said is not None:
                    low, high = max(first + keep - reach, 0), min(stop + reach, said.size - 1)
                    if low >= high or said[high] == said[low]:
                        continue  # silence all through the frames this window gives, and around them
                chunk = waveform[:, start : start + window].unsqueeze(0)
                out = self._campplus.forward_frames(chunk)[0]
                stop = min(first + out.shape[1], total)
                frames[:, first + keep : stop] = out[:, keep : stop - first]
        return frames

    def get_embeddings(
        self,
        file: dict[str, Any],
        binary_segmentations: SlidingWindowFeature,
        exclude_overlap: bool = False,
        hook: PipelineHook | None = None,
    ) -> npt.NDArray[np.float32]:
        """One embedding per (chunk, local speaker), pooled from the shared file frames.

        Returns:
            (num_chunks, num_speakers, 192) embeddings; NaN where the speaker is silent in the chunk.
        """
        # While tuning hyper-parameters (``pipeline.training = True``), frames depend on the audio
        # alone and are reused across trials, as the stock pipeline reuses its embeddings.
        masks = np.nan_to_num(binary_segmentations.data, nan=0.0).astype(np.float32)
        # (num_chunks, num_frames, num_speakers)
        window = binary_segmentations.sliding_window
        per_chunk = round(window.duration * SAMPLE_RATE / FRAME_STEP_SAMPLES)
        num_chunks = masks.shape[0]
        step = FRAME_STEP_SAMPLES / SAMPLE_RATE
        starts = np.array([round(window[c].start / step) for c in range(num_chunks)])
        if self.training and _FRAMES_CACHE in file:
            frames = file[_FRAMES_CACHE]
        elif self.training:  # every frame: the cache outlives this trial's segmentation
            frames = file[_FRAMES_CACHE] = self.file_frames(file["waveform"])
        else:
            frames = self.file_frames(file["waveform"], _speech_frames(masks, starts, per_chunk))
        file[_FRAMES_KEY] = frames
        total = frames.shape[1]
        if exclude_overlap:
            clean = masks * (masks.sum(axis=2, keepdims=True) < 2)
            enough = clean.sum(axis=1, keepdims=True) > 0.1 * masks.shape[1]
            masks = np.where(enough, clean, masks)
        batches = []
        with torch.inference_mode():
            for first in range(0, num_chunks, _POOL_BATCH):
                index = torch.from_numpy(starts[first : first + _POOL_BATCH, None] + np.arange(per_chunk))
                inside = (index >= 0) & (index < total)
                # (batch, channels, per_chunk): the frames under each chunk's time span
                chunk_frames = frames[:, index.clamp(0, total - 1)].permute(1, 0, 2)
                weights = torch.from_numpy(masks[first : first + _POOL_BATCH]).transpose(1, 2)
                weights = torch.nn.functional.interpolate(weights, size=per_chunk, mode="nearest")
                weights = weights * inside.unsqueeze(1)
                batches.append(self._campplus.forward_embedding(chunk_frames, weights).numpy())
                if hook is not None:
                    hook("embeddings", None, total=num_chunks, completed=min(first + _POOL_BATCH, num_chunks))
        return np.concatenate(batches).astype(np.float32)


def _speech_frames(
    masks: npt.NDArray[np.float32], starts: npt.NDArray[np.int64], per_chunk: int
) -> npt.NDArray[np.bool_]:
    """Where any local speaker of any chunk is active, on CAM++'s frame grid (nearest frame, as the pooling reads it).

    Args:
        masks: (chunks, segmentation frames, local speakers) binarized activity.
        starts: (chunks,) each chunk's first CAM++ frame.
        per_chunk: CAM++ frames per chunk.
    """
    anyone = torch.from_numpy(np.ascontiguousarray(masks.max(axis=2)))[:, None, :]
    active = torch.nn.functional.interpolate(anyone, size=per_chunk, mode="nearest")[:, 0].numpy() > 0
    speech = np.zeros(int(starts.max(initial=0)) + per_chunk, dtype=bool)
    for start, row in zip(starts, active, strict=True):
        speech[start : start + per_chunk] |= row
    return speech


def _shares_front_end(model: Any) -> bool:
    """Whether ``model`` is the PyanNet (SincNet, one monolithic LSTM) :func:`sliding_segmentation` runs."""
    sincnet = getattr(model, "sincnet", None)
    lstm = getattr(getattr(model, "hparams", None), "lstm", None)
    return sincnet is not None and isinstance(lstm, dict) and bool(lstm.get("monolithic"))


def sliding_segmentation(
    inference: Any, waveform: torch.Tensor, *, hook: PipelineHook | None = None
) -> SlidingWindowFeature:
    """segmentation-3.0 over every window of ``inference`` (pyannote's ``Inference.slide``, no aggregation).

    The same windows, zero-padded last window and powerset conversion as pyannote's, but the
    SincNet front end's first layer (80 sinc filters of 251 taps, stride 10) runs once over the
    file instead of once per window: with a 1 s step each sample is in 10 windows. The layer
    before it normalises each window's waveform (``InstanceNorm1d``), an affine map, and the
    filters are linear, so a window's output is the file's filtered signal under that window,
    scaled by the window's ``gamma / std`` and shifted by its ``beta - gamma * mean / std`` times
    each filter's sum (exact in real arithmetic; in float32, 1 frame of 12,369 differed on
    sample.wav, none on dev01 or 5 minutes of AMI). The rest of SincNet runs per window (it is
    memory-bound: 80 x 16,000 floats a window, faster one at a time), the LSTM and classifier per
    batch of :data:`_LSTM_BATCH` windows. Segmentation's CPU: -24 % (docs/DIARIZATION.md, "CPU").

    Args:
        inference: the pipeline's ``Inference`` (``pipeline._segmentation``): model, window, step.
        waveform: (1, samples) 16 kHz mono audio.
        hook: pyannote's progress hook, called as ``hook("segmentation", None, completed=..., total=...)`` after each batch.

    Returns:
        (windows, frames, local speakers) activations on pyannote's ``SlidingWindow`` of the chunks.
    """
    model = inference.model
    sincnet = model.sincnet
    window = int(model.audio.get_num_samples(inference.duration))
    step = round(inference.step * SAMPLE_RATE)
    samples = waveform.shape[-1]
    complete = (samples - window) // step + 1 if samples >= window else 0
    starts = [c * step for c in range(complete)]
    if samples < window or (samples - window) % step > 0:
        starts.append(complete * step)  # the last window, zero-padded as pyannote pads it
    padded = F.pad(waveform, (0, starts[-1] + window - samples))[:1, : starts[-1] + window]
    encoder, norm = sincnet.conv1d[0], sincnet.wav_norm1d
    stride = int(encoder.stride)
    if step % stride:
        raise ValueError(f"a segmentation step of {step} samples is off SincNet's stride ({stride})")
    outputs: list[npt.NDArray[np.float32]] = []
    with torch.inference_mode():
        filters = encoder.get_filters()  # (80, 1, kernel)
        kernel = filters.shape[-1]
        per_window = (window - kernel) // stride + 1
        total = (padded.shape[-1] - kernel) // stride + 1
        filtered = torch.empty((filters.shape[0], total), dtype=filters.dtype)
        # In pieces of a window: one convolution over the whole file is slower (memory-bound).
        for first in range(0, total, per_window):
            last = min(total, first + per_window)
            piece = padded[:, first * stride : (last - 1) * stride + kernel]
            filtered[:, first:last] = F.conv1d(piece.unsqueeze(0), filters, stride=stride)[0]
        sums = filters.sum(dim=(1, 2))[:, None]  # (80, 1)
        features: list[torch.Tensor] = []
        for index, start in enumerate(starts):
            audio = padded[:, start : start + window]
            scale = norm.weight[0] / torch.sqrt(audio.var(unbiased=False) + norm.eps)
            shift = norm.bias[0] - scale * audio.mean()
            head = filtered[:, start // stride : start // stride + per_window] * scale + shift * sums
            out = F.leaky_relu(sincnet.norm1d[0](sincnet.pool1d[0](head.abs().unsqueeze(0))))
            for layer in (1, 2):
                conv = sincnet.conv1d[layer](out)
                out = F.leaky_relu(sincnet.norm1d[layer](sincnet.pool1d[layer](conv)))
            features.append(out)
            if len(features) == _LSTM_BATCH or index == len(starts) - 1:
                hidden, _ = model.lstm(torch.cat(features).transpose(1, 2))  # (batch, frames, features)
                for linear in model.linear:
                    hidden = F.leaky_relu(linear(hidden))
                scores = model.activation(model.classifier(hidden))
                outputs.append(inference.conversion(scores).cpu().numpy())
                features = []
                if hook is not None:
                    hook("segmentation", None, completed=index + 1, total=len(starts))
    chunks = SlidingWindow(start=0.0, duration=inference.duration, step=inference.step)
    return SlidingWindowFeature(np.vstack(outputs), chunks)


def turns_of(annotation: Annotation, *, offset: float = 0.0) -> list[Turn]:
    """The turns of a pyannote ``Annotation``, in time order, ``offset`` seconds later."""
    return sorted(
        (
            Turn(offset + float(segment.start), offset + float(segment.end), str(label))
            for segment, _, label in annotation.itertracks(yield_label=True)
        ),
        key=lambda turn: (turn.start, turn.end, turn.speaker),
    )


def annotation_of(turns: list[Turn]) -> Annotation:
    """A pyannote ``Annotation`` of ``turns`` (one track each)."""
    from pyannote.core import Segment

    annotation = Annotation(uri="recording")
    for index, turn in enumerate(turns):
        annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation
