"""Shared fixtures. The reference recordings and transcripts live in tests/data (see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

# stack, ddb, http: one local stack per module for the API-level tests (see that module).
pytest_plugins = ["tests.stack_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of reference recordings, their reference answers and the dev transcripts."""
    assert DATA_DIR.is_dir(), f"reference data not found at {DATA_DIR}"
    return DATA_DIR
