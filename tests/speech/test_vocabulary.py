"""The session's vocabulary: validated at create, given to whisper as hotwords after the names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest
from agentflow.schemas.sessions import VOCABULARY_TERMS, CreateSessionRequest
from agentflow.speech import transcribe as transcribe_module
from agentflow.speech.transcribe import hotwords_of
from agentflow.stages import transcribe as stage

PEOPLE = {"host": {"name": "Priya Nair"}, "client": {"name": "Tom Becker"}}


def test_vocabulary_is_bounded_and_validated() -> None:
    body = CreateSessionRequest.model_validate({**PEOPLE, "vocabulary": ["  Okta ", "SSO", "Leo"]})
    assert body.vocabulary == ["Okta", "SSO", "Leo"]  # trimmed
    assert CreateSessionRequest.model_validate(PEOPLE).vocabulary is None
    for bad in (
        [""],
        ["   "],
        ["x" * 65],
        ["line\nbreak"],
        ["term"] * (VOCABULARY_TERMS + 1),
        [f"term{i:02d}-" + "y" * 50 for i in range(12)],  # each fine, 700 characters in all
        "Okta",  # a string, not a list
        [3],
    ):
        with pytest.raises(pydantic.ValidationError):
            CreateSessionRequest.model_validate({**PEOPLE, "vocabulary": bad})


def test_hotwords_keep_order_and_drop_repeats() -> None:
    assert (
        hotwords_of(["Priya Nair", "Tom  Becker", "Okta", "Priya Nair", " "]) == "Priya Nair Tom Becker Okta"
    )
    assert hotwords_of([]) is None


def test_the_stage_gives_names_then_vocabulary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    class FakeTranscript:
        def to_dict(self) -> dict[str, Any]:
            return {"words": []}

    def fake(path: Path, **options: Any) -> FakeTranscript:
        seen.update(options)
        return FakeTranscript()

    monkeypatch.setattr(transcribe_module, "transcribe", fake)
    stage.compute(
        tmp_path / "a.wav", {"per_channel": False}, {**PEOPLE, "vocabulary": ["Okta", "Tom Becker"]}
    )
    assert seen["hotwords"] == "Priya Nair Tom Becker Okta"
    stage.compute(tmp_path / "a.wav", {}, dict(PEOPLE))
    assert seen["hotwords"] == "Priya Nair Tom Becker"
