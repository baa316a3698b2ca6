"""Fixtures of the reliability suite: short speech clips and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import CLIPS, Receiver, cut_clip


@pytest.fixture(scope="session")
def clips(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """3-4 s WAV pieces of the shared recordings, one per entry of ``CLIPS``, in a temp dir."""
    folder = tmp_path_factory.mktemp("clips")
    return [
        cut_clip(data_dir / name, start, end, folder / f"clip{i}-{Path(name).stem}.wav")
        for i, (name, start, end) in enumerate(CLIPS)
    ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 for the module's sessions."""
    r = Receiver()
    yield r
    r.close()
