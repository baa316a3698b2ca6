"""The default workflow with a fake provider: the pass, retry and fallback routes, timings, run_summary."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from agentflow.errors import PermanentStageError, ValidationError
from agentflow.schemas.summary import ActionItem, Decision, KeyPoint, Summary, Utterance
from agentflow.workflows import (
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    default_spec,
    run_summary,
    validate_summary,
)
from agentflow.workflows.nodes import chunk_utterances, merge_extractions
from agentflow.workflows.providers.base import Extraction, Participant, ProviderError

from .conftest import FakeProvider

UTTERANCES = [
    {"id": "u1", "speaker": "Alice", "start": 0.0, "end": 4.0, "text": "I'll send the contract by Friday."},
    {
        "id": "u2",
        "speaker": "Bob",
        "start": 4.5,
        "end": 8.0,
        "text": "Great, and we agreed on the annual plan.",
    },
    {"id": "u3", "speaker": "Alice", "start": 8.5, "end": 10.0, "text": "Thanks Bob."},
]
PARTICIPANTS = [{"name": "Alice", "role": "host"}, {"name": "Bob", "role": "client"}]

GOOD = Extraction(
    key_points=[KeyPoint(text="Contract and plan", sources=["u1"])],
    decisions=[Decision(text="Annual plan", sources=["u2"])],
    action_items=[ActionItem(text="Send the contract", owner="Alice", due="Friday", sources=["u1"])],
)
# A stranger as owner and a citation of an utterance that does not exist: both ungrounded.
BAD = Extraction(
    key_points=[KeyPoint(text="Contract", sources=["u1"])],
    action_items=[ActionItem(text="Send the contract", owner="Mallory", sources=["u9"])],
)


def fallback_provider() -> FakeProvider:
    return FakeProvider(extractions=[GOOD], name="offline", model="offline-1")


def run(provider: FakeProvider, fallback: FakeProvider | None = None, **kwargs: Any) -> dict[str, Any]:
    backup = fallback or fallback_provider()
    return run_summary(
        utterances=UTTERANCES,
        participants=PARTICIPANTS,
        language="en",
        duration=10.0,
        context=WorkflowContext(provider=provider, fallback=lambda: backup),
        **kwargs,
    )


def test_grounded_answer_passes_first_time(fake_provider: Callable[..., FakeProvider]) -> None:
    # GIVEN a provider whose answer is grounded
    provider = fake_provider([GOOD])
    # WHEN the default workflow runs
    summary = run(provider)
    # THEN it goes prepare → extract → merge → compose → validate and ends
    assert [t["node"] for t in summary["timings"]] == ["prepare", "extract", "merge", "compose", "validate"]
    assert all(t["seconds"] >= 0 for t in summary["timings"])
    assert summary["action_items"] == [
        {"text": "Send the contract", "owner": "Alice", "due": "Friday", "sources": ["u1"]}
    ]
    assert (summary["provider"], summary["model"], summary["fallback_used"]) == ("fake", "fake-1", False)
    assert (summary["workflow_id"], summary["workflow_version"]) == ("meeting-summary-v1", 1)
    assert summary["title"] == "A title" and summary["findings"] == []
    # AND the transcript and talk time are in the document
    assert [u["id"] for u in summary["transcript"]] == ["u1", "u2", "u3"]
    assert [(s["name"], s["talk_time_seconds"], s["turns"]) for s in summary["speakers"]] == [
        ("Alice", 5.5, 2),
        ("Bob", 3.5, 1),
    ]
    # AND the stored JSON validates on its own
    assert validate_summary(summary).schema_version == "1.0"


def test_ungrounded_answer_is_retried_with_the_findings(fake_provider: Callable[..., FakeProvider]) -> None:
    # GIVEN a provider that first names a stranger as owner, then answers correctly
    provider = fake_provider([BAD, GOOD])
    summary = run(provider)
    # THEN extract runs again after validate, and the second request carries the findings
    assert [t["node"] for t in summary["timings"]] == [
        "prepare", "extract", "merge", "compose", "validate",
        "extract", "merge", "compose", "validate",
    ]  # fmt: skip
    assert provider.extract_requests[0].feedback == []
    feedback = " ".join(provider.extract_requests[1].feedback)
    assert "'Mallory', who is not a participant" in feedback and "['u9']" in feedback
    assert summary["fallback_used"] is False and summary["action_items"][0]["owner"] == "Alice"


def test_still_ungrounded_after_the_retry_falls_back(fake_provider: Callable[..., FakeProvider]) -> None:
    # GIVEN a provider that never grounds its answer
    provider = fake_provider([BAD])
    backup = fallback_provider()
    summary = run(provider, backup)
    # THEN after one retry the fallback provider produces the summary
    nodes = [t["node"] for t in summary["timings"]]
    assert nodes.count("extract") == 2 and nodes[-1] == "fallback"
    assert len(provider.extract_requests) == 2 and len(backup.extract_requests) == 1
    assert (summary["provider"], summary["model"], summary["fallback_used"]) == ("offline", "offline-1", True)
    assert summary["action_items"][0]["owner"] == "Alice"
    # AND the findings that caused it are recorded
    assert any("Mallory" in f for f in summary["findings"])


def test_provider_error_goes_straight_to_the_fallback(fake_provider: Callable[..., FakeProvider]) -> None:
    # GIVEN a provider that fails (e.g. throttled beyond its retries)
    provider = fake_provider([ProviderError("Bedrock ThrottlingException after 4 tries")])
    summary = run(provider)
    # THEN no retry is attempted: compose is skipped and the fallback answers
    nodes = [t["node"] for t in summary["timings"]]
    assert nodes == ["prepare", "extract", "merge", "compose", "validate", "fallback"]
    assert provider.compose_requests == []
    assert summary["fallback_used"] is True
    assert summary["findings"] == ["the provider failed: Bedrock ThrottlingException after 4 tries"]


def test_fallback_drops_what_it_cannot_ground(fake_provider: Callable[..., FakeProvider]) -> None:
    # GIVEN even the fallback returns an ungrounded item besides a good one
    provider = fake_provider([ProviderError("down")])
    mixed = Extraction(key_points=GOOD.key_points, action_items=[*GOOD.action_items, *BAD.action_items])
    summary = run(provider, FakeProvider(extractions=[mixed]))
    # THEN only the grounded item is kept
    assert [a["owner"] for a in summary["action_items"]] == ["Alice"]


def test_empty_transcript_gives_an_empty_valid_summary(fake_provider: Callable[..., FakeProvider]) -> None:
    provider = fake_provider([GOOD])
    summary = run_summary(
        utterances=[],
        participants=PARTICIPANTS,
        duration=4.2,
        context=WorkflowContext(provider=provider, fallback=fallback_provider),
    )
    assert summary["title"] == "No speech detected"
    assert summary["transcript"] == [] and summary["action_items"] == []
    assert [s["talk_time_seconds"] for s in summary["speakers"]] == [0.0, 0.0]
    assert provider.extract_requests == []
    assert Summary.model_validate(summary).duration == 4.2


def test_a_tenant_spec_runs_and_is_named_in_the_summary(fake_provider: Callable[..., FakeProvider]) -> None:
    spec = default_spec().model_dump()
    spec.update(id="wfl_custom", version=3)
    spec["routes"][0]["params"]["max_retries"] = 0
    provider = fake_provider([BAD])
    summary = run(provider, spec=spec)
    # THEN no retry (max_retries 0) and the summary names the tenant workflow
    assert [t["node"] for t in summary["timings"]].count("extract") == 1
    assert (summary["workflow_id"], summary["workflow_version"]) == ("wfl_custom", 3)


def test_invalid_spec_is_a_validation_error(fake_provider: Callable[..., FakeProvider]) -> None:
    with pytest.raises(ValidationError, match="unknown type"):
        run(
            fake_provider([GOOD]), spec={**default_spec().model_dump(), "nodes": [{"id": "a", "type": "zzz"}]}
        )


def test_workflow_without_validation_that_yields_nothing_is_a_permanent_error(
    fake_provider: Callable[..., FakeProvider],
) -> None:
    spec = {
        "id": "bare",
        "start": "prepare",
        "nodes": [{"id": "prepare", "type": "prepare"}, {"id": "extract", "type": "extract"},
                  {"id": "merge", "type": "merge"}],
        "edges": [{"source": "prepare", "target": "extract"}, {"source": "extract", "target": "merge"},
                  {"source": "merge", "target": "end"}],
    }  # fmt: skip
    with pytest.raises(PermanentStageError, match="empty"):
        run(fake_provider([Extraction()]), spec=spec)


def test_executor_chunks_to_the_provider_context(fake_provider: Callable[..., FakeProvider]) -> None:
    # GIVEN a provider that takes little text per call
    provider = fake_provider([GOOD], context_chars=60)
    graph = WorkflowBuilder(default_spec()).build()
    utterances = [Utterance.model_validate(u) for u in UTTERANCES]
    result = asyncio.run(
        WorkflowExecutor(graph).execute(
            {"utterances": utterances, "participants": [Participant(name="Alice"), Participant(name="Bob")]},
            context=WorkflowContext(provider=provider, fallback=fallback_provider),
        )
    )
    # THEN one extract call per chunk, and the result reports the path taken
    assert len(provider.extract_requests) == len(result.state["chunks"]) == 3
    assert result.path[:2] == ("prepare", "extract") and result.seconds > 0


def test_run_summary_works_inside_a_running_event_loop(fake_provider: Callable[..., FakeProvider]) -> None:
    async def inside() -> dict[str, Any]:
        return run(fake_provider([GOOD]))

    assert asyncio.run(inside())["action_items"][0]["owner"] == "Alice"


def test_chunks_overlap_and_merge_removes_the_duplicates() -> None:
    utterances = [Utterance(id=f"u{i}", speaker="A", start=i, end=i + 1, text="x" * 40) for i in range(6)]
    chunks = chunk_utterances(utterances, max_chars=120, overlap=1)
    assert [[u.id for u in c] for c in chunks] == [
        ["u0", "u1"],
        ["u1", "u2"],
        ["u2", "u3"],
        ["u3", "u4"],
        ["u4", "u5"],
    ]
    one = Extraction(action_items=[ActionItem(text="Send the signed contract", owner="A", sources=["u1"])])
    two = Extraction(
        action_items=[ActionItem(text="send the signed contract", owner="A", due="Friday", sources=["u2"])]
    )
    merged = merge_extractions([one, two], similarity=0.6, max_key_points=5)
    assert [(a.owner, a.due, a.sources) for a in merged.action_items] == [("A", "Friday", ["u1", "u2"])]


def test_undetected_language_is_taken_as_english(fake_provider: Callable[..., FakeProvider]) -> None:
    provider = fake_provider([GOOD])
    summary = run_summary(
        utterances=UTTERANCES,
        participants=PARTICIPANTS,
        language=None,
        duration=10.0,
        context=WorkflowContext(provider=provider, fallback=fallback_provider),
    )
    assert summary["language"] == "en" and provider.extract_requests[0].language == "en"
