"""Fixtures for the workflow tests: the reference transcripts and a scriptable fake provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from agentflow.workflows.providers.base import (
    ComposeRequest,
    Composition,
    Extraction,
    ExtractRequest,
    ProviderError,
)

Transcript = dict[str, Any]


def participants_of(transcript: Transcript) -> list[dict[str, Any]]:
    """``participants`` as run_summary takes them, from a reference file's ``{"host": name, ...}``."""
    return [{"name": name, "role": role} for role, name in transcript["participants"].items()]


@pytest.fixture(scope="session")
def transcripts(data_dir: Path) -> list[Transcript]:
    """Every reference transcript (with its ``reference`` answers)."""
    files = sorted((data_dir / "transcripts").glob("*.json"))
    assert files, "no reference transcripts found"
    return [json.loads(f.read_text("utf-8")) for f in files]


@dataclass
class FakeProvider:
    """A provider whose answers are scripted per call: a list of Extraction or Exception.

    Records every request so tests can check what the graph sent (e.g. the findings on a retry).
    """

    extractions: list[Extraction | Exception]
    name: str = "fake"
    model: str = "fake-1"
    context_chars: int = 100_000
    title: str = "A title"
    overview: str = "An overview."
    extract_requests: list[ExtractRequest] = field(default_factory=list)
    compose_requests: list[ComposeRequest] = field(default_factory=list)

    async def extract(self, request: ExtractRequest) -> Extraction:
        self.extract_requests.append(request)
        answer = self.extractions[min(len(self.extract_requests), len(self.extractions)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def compose(self, request: ComposeRequest) -> Composition:
        self.compose_requests.append(request)
        return Composition(title=self.title, overview=self.overview)


@pytest.fixture
def fake_provider() -> Callable[..., FakeProvider]:
    """Factory: ``fake_provider([extraction_or_error, ...])``."""

    def make(extractions: list[Extraction | Exception], **kwargs: Any) -> FakeProvider:
        return FakeProvider(extractions=extractions, **kwargs)

    return make


__all__ = ["FakeProvider", "ProviderError", "Transcript", "participants_of"]
