"""``run_summary``: the one call the summarize stage makes (synchronous, returns the summary JSON)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import pydantic

from agentflow.errors import PermanentStageError, ValidationError
from agentflow.schemas.summary import SCHEMA_VERSION, MissingAudio, NodeTiming, Summary, Utterance
from agentflow.settings import Settings, get_settings
from agentflow.workflows.builder import WorkflowBuilder
from agentflow.workflows.executor import ExecutionResult, WorkflowExecutor, context_from_settings
from agentflow.workflows.grounding import summary_findings
from agentflow.workflows.nodes import drop_ungrounded
from agentflow.workflows.providers.base import Extraction, Participant
from agentflow.workflows.speakers import speaker_stats
from agentflow.workflows.spec import WorkflowSpec, default_spec, validate_spec
from agentflow.workflows.state import WorkflowContext

log = logging.getLogger(__name__)

T = TypeVar("T")
_UTTERANCE_KEYS = ("id", "speaker", "start", "end", "text", "role")


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion: on this thread, or on a helper thread if a loop is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _utterances(raw: Sequence[Mapping[str, Any]]) -> list[Utterance]:
    out = []
    for n, u in enumerate(raw, start=1):
        fields = {k: u[k] for k in _UTTERANCE_KEYS if k in u}
        fields.setdefault("id", f"u{n}")
        out.append(Utterance.model_validate(fields))
    return out


def _empty_summary(
    workflow: WorkflowSpec,
    participants: list[Participant],
    language: str,
    duration: float,
    context: WorkflowContext,
) -> Summary:
    return Summary(
        schema_version=SCHEMA_VERSION,
        title="No speech detected",
        overview="The recording contains no speech, so there is nothing to summarise.",
        key_points=[],
        decisions=[],
        action_items=[],
        open_questions=[],
        speakers=speaker_stats([], participants),
        transcript=[],
        language=language,
        duration=duration,
        workflow_id=workflow.id,
        workflow_version=workflow.version,
        provider=context.provider.name,
        model=context.provider.model,
    )


def build_summary(
    result: ExecutionResult,
    *,
    workflow: WorkflowSpec,
    utterances: list[Utterance],
    participants: list[Participant],
    language: str,
    duration: float,
) -> Summary:
    """The summary document from a finished run (ungrounded leftovers are dropped, with a warning)."""
    state = result.state
    speakers = state.get("speakers") or speaker_stats(utterances, participants)
    draft: Extraction = state.get("draft") or Extraction()
    grounded = drop_ungrounded(draft, utterances, {s.name for s in speakers})
    if grounded != draft:
        log.warning("dropped ungrounded items from the %s summary", workflow.id)
    try:
        return Summary(
            schema_version=SCHEMA_VERSION,
            title=state.get("title") or "Meeting summary",
            overview=state.get("overview", ""),
            key_points=grounded.key_points,
            decisions=grounded.decisions,
            action_items=grounded.action_items,
            open_questions=grounded.open_questions,
            speakers=speakers,
            transcript=utterances,
            language=language,
            duration=duration,
            workflow_id=workflow.id,
            workflow_version=workflow.version,
            provider=state.get("provider", ""),
            model=state.get("model", ""),
            fallback_used=state.get("fallback_used", False),
            findings=state.get("findings", []),
            timings=list(result.timings) or [NodeTiming(node="total", seconds=result.seconds)],
        )
    except pydantic.ValidationError as exc:
        raise PermanentStageError(
            f"workflow {workflow.id} produced no valid summary: {exc.errors()[0]['msg']}"
        ) from exc


def run_summary(
    *,
    utterances: Sequence[Mapping[str, Any]],
    participants: Sequence[Mapping[str, Any]],
    language: str | None = "en",
    duration: float = 0.0,
    spec: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
    context: WorkflowContext | None = None,
    missing_audio: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Summarise a speaker-attributed transcript with a workflow; return the summary JSON.

    Args:
        utterances: ``{"id", "speaker", "start", "end", "text"}`` each (times in seconds); other keys are ignored.
        participants: ``{"name", "role"}`` each; names equal the utterance speakers.
        language: ISO 639-1 code of the transcript (``None``, when undetected, is taken as "en").
        duration: recording length in seconds.
        spec: a stored tenant ``WorkflowSpec`` as a dict, or ``None`` for ``meeting-summary-v1``.
        settings: chooses the provider (``summary_provider``); default ``get_settings()``.
        context: the providers, overriding ``settings`` (tests inject fakes here).
        missing_audio: ``MissingAudio`` dicts: spans of participants' tracks with no audio.

    Returns:
        ``Summary.model_dump(mode="json")`` (see ``agentflow.schemas.summary``).

    Raises:
        ValidationError: ``spec`` is not a valid workflow.
        PermanentStageError: the workflow ended without a valid summary.
    """
    workflow = validate_spec(dict(spec)) if spec is not None else default_spec()
    language = language or "en"
    ctx = context or context_from_settings(settings or get_settings())
    utts = _utterances(utterances)
    people = [Participant.model_validate(p) for p in participants]
    gaps = [MissingAudio.model_validate(dict(m)) for m in missing_audio]
    if not utts:
        empty = _empty_summary(workflow, people, language, duration, ctx)
        return empty.model_copy(update={"missing_audio": gaps}).model_dump(mode="json")
    graph = WorkflowBuilder(workflow).build()
    result = _run_sync(
        WorkflowExecutor(graph, context=ctx).execute(
            {"utterances": utts, "participants": people, "language": language, "duration": duration}
        )
    )
    summary = build_summary(
        result, workflow=workflow, utterances=utts, participants=people, language=language, duration=duration
    )
    return summary.model_copy(update={"missing_audio": gaps}).model_dump(mode="json")


def validate_summary(data: Mapping[str, Any]) -> Summary:
    """Parse a stored summary JSON and check its grounding against its own transcript.

    Raises:
        ValidationError: the document does not match the schema or is not grounded.
    """
    try:
        summary = Summary.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise ValidationError(f"summary is not valid: {exc.errors()[0]['msg']}", field="summary") from exc
    findings = summary_findings(summary)
    if findings:
        raise ValidationError(f"summary is not grounded: {findings[0]}", field="summary")
    return summary
