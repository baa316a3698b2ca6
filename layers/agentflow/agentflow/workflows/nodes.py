"""Registered node and router types: what a ``WorkflowSpec`` may name.

A node type is a factory: validated parameters in, a plain async function out, which takes the
state (and LangGraph's runtime, for the providers) and returns a partial update. A router type
returns a function typed ``-> Literal[...]`` over its outcomes. ``requires``/``provides`` name state
keys so that spec validation can tell a node that would run before its inputs exist.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentflow.schemas.summary import ActionItem, Decision, KeyPoint, OpenQuestion, Utterance
from agentflow.workflows.grounding import check_grounding
from agentflow.workflows.providers.base import (
    ComposeRequest,
    Composition,
    Extraction,
    ExtractRequest,
    Participant,
    ProviderError,
    SummaryProvider,
)
from agentflow.workflows.speakers import speaker_stats
from agentflow.workflows.state import SummaryState, WorkflowContext

if TYPE_CHECKING:
    # Only for annotations: LangGraph injects the runtime by parameter name, and the API imports
    # this module (through spec validation) without paying for langgraph.
    from langgraph.runtime import Runtime

log = logging.getLogger(__name__)

Update = dict[str, Any]
NodeFn = Callable[[SummaryState, "Runtime[WorkflowContext]"], Awaitable[Update]]
RouterFn = Callable[[SummaryState], str]

# Keys the caller puts into the initial state.
INPUT_KEYS = frozenset({"utterances", "participants", "language", "duration"})


class Params(BaseModel):
    """Base of node parameters: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class NodeType:
    """A node type a spec can use."""

    name: str
    description: str
    params: type[Params]
    make: Callable[[Any], NodeFn]
    requires: frozenset[str]
    provides: frozenset[str]


@dataclass(frozen=True)
class RouterType:
    """A conditional route a spec can use.

    ``bounded`` routers stop choosing their looping outcomes after a limit; ``exits`` are the
    outcomes they fall back to then, which must leave any cycle the route closes.
    """

    name: str
    description: str
    params: type[Params]
    make: Callable[[Any], RouterFn]
    outcomes: tuple[str, ...]
    requires: frozenset[str]
    bounded: bool = False
    exits: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------- helpers
def participants_of(state: SummaryState) -> list[Participant]:
    """The participants, or (when none were given) one per speaker label, in order of first turn."""
    given = state.get("participants") or []
    if given:
        return list(given)
    seen: list[str] = []
    for u in state.get("utterances", []):
        if u.speaker not in seen:
            seen.append(u.speaker)
    return [Participant(name=n) for n in seen]


def chunk_utterances(utterances: Sequence[Utterance], max_chars: int, overlap: int) -> list[list[Utterance]]:
    """Split into chunks of at most ``max_chars`` of text, repeating ``overlap`` turns at each seam.

    The overlap keeps a request and its answer together when they straddle a seam; merge removes the
    duplicates it causes. A single turn longer than ``max_chars`` is a chunk of its own.
    """
    chunks: list[list[Utterance]] = []
    current: list[Utterance] = []
    size = 0
    for u in utterances:
        cost = len(u.text) + len(u.speaker) + 16
        if current and size + cost > max_chars:
            chunks.append(current)
            current = current[-overlap:] if overlap else []
            size = sum(len(x.text) + len(x.speaker) + 16 for x in current)
        current.append(u)
        size += cost
    if current:
        chunks.append(current)
    return chunks


def _tokens(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def _similar(a: str, b: str, threshold: float) -> bool:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    return len(ta & tb) / len(ta | tb) >= threshold


def merge_extractions(parts: Sequence[Extraction], *, similarity: float, max_key_points: int) -> Extraction:
    """Union of chunk extractions with near-duplicates (token Jaccard ≥ ``similarity``) merged.

    A merged item keeps the longer text, the union of sources, and the first owner and due stated.
    """

    def dedupe(items: Sequence[Any], make: Callable[[Any, Any], Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            for i, kept in enumerate(out):
                same_owner = getattr(kept, "owner", None) == getattr(item, "owner", None)
                if same_owner and (
                    _similar(kept.text, item.text, similarity) or set(kept.sources) == set(item.sources)
                ):
                    out[i] = make(kept, item)
                    break
            else:
                out.append(item)
        return out

    def sources(a: Any, b: Any) -> list[str]:
        return list(dict.fromkeys([*a.sources, *b.sources]))

    def longer(a: Any, b: Any) -> str:
        return str(a.text if len(a.text) >= len(b.text) else b.text)

    key_points = dedupe(
        [k for p in parts for k in p.key_points],
        lambda a, b: KeyPoint(text=longer(a, b), sources=sources(a, b)),
    )
    decisions = dedupe(
        [d for p in parts for d in p.decisions],
        lambda a, b: Decision(text=longer(a, b), sources=sources(a, b)),
    )
    actions = dedupe(
        [a for p in parts for a in p.action_items],
        lambda a, b: ActionItem(
            text=longer(a, b), owner=a.owner or b.owner, due=a.due or b.due, sources=sources(a, b)
        ),
    )
    questions = dedupe(
        [q for p in parts for q in p.open_questions],
        lambda a, b: OpenQuestion(text=longer(a, b), sources=sources(a, b)),
    )
    return Extraction(
        key_points=key_points[:max_key_points],
        decisions=decisions,
        action_items=actions,
        open_questions=questions,
    )


def drop_ungrounded(draft: Extraction, utterances: Sequence[Utterance], names: set[str]) -> Extraction:
    """Remove citations of missing utterances and items left without support or with a stranger as owner."""
    ids = {u.id for u in utterances}

    def cited(sources: Sequence[str]) -> list[str]:
        return [s for s in sources if s in ids]

    return Extraction(
        key_points=[k.model_copy(update={"sources": cited(k.sources)}) for k in draft.key_points],
        decisions=[
            d.model_copy(update={"sources": cited(d.sources)}) for d in draft.decisions if cited(d.sources)
        ],
        action_items=[
            a.model_copy(update={"sources": cited(a.sources)})
            for a in draft.action_items
            if cited(a.sources) and (a.owner is None or a.owner in names)
        ],
        open_questions=[q.model_copy(update={"sources": cited(q.sources)}) for q in draft.open_questions],
    )


async def _extract_all(
    provider: SummaryProvider,
    chunks: Sequence[Sequence[Utterance]],
    state: SummaryState,
    *,
    max_concurrency: int,
    max_key_points: int,
    feedback: list[str],
) -> list[Extraction]:
    gate = asyncio.Semaphore(max_concurrency)
    participants = participants_of(state)

    async def one(chunk: Sequence[Utterance]) -> Extraction:
        async with gate:
            return await provider.extract(
                ExtractRequest(
                    utterances=list(chunk),
                    participants=participants,
                    language=state.get("language", "en"),
                    max_key_points=max_key_points,
                    feedback=feedback,
                )
            )

    return list(await asyncio.gather(*(one(c) for c in chunks)))


async def _compose(
    provider: SummaryProvider, draft: Extraction, state: SummaryState, *, max_chars: int, feedback: list[str]
) -> Composition:
    return await provider.compose(
        ComposeRequest(
            draft=draft,
            speakers=state.get("speakers")
            or speaker_stats(state.get("utterances", []), participants_of(state)),
            utterances=state.get("utterances", []),
            language=state.get("language", "en"),
            duration=state.get("duration", 0.0),
            max_overview_chars=max_chars,
            feedback=feedback,
        )
    )


# ------------------------------------------------------------------------------------ node types
class PrepareParams(Params):
    """Chunking: by default to the provider's context; ``overlap_turns`` repeated at each seam."""

    max_chunk_chars: int | None = Field(default=None, ge=500, le=1_000_000)
    overlap_turns: int = Field(default=2, ge=0, le=10)


def make_prepare(params: PrepareParams) -> NodeFn:
    """Speakers with talk time, and the transcript cut into chunks the provider can take."""

    async def prepare(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        provider = runtime.context.provider
        utterances = state.get("utterances", [])
        limit = params.max_chunk_chars or provider.context_chars
        return {
            "speakers": speaker_stats(utterances, participants_of(state)),
            "chunks": chunk_utterances(utterances, limit, params.overlap_turns),
            "attempts": 0,
            "findings": [],
            "provider_error": None,
            "provider": provider.name,
            "model": provider.model,
            "fallback_used": False,
        }

    return prepare


class ExtractParams(Params):
    """Concurrency of provider calls over chunks, and how many key points each may give."""

    max_concurrency: int = Field(default=4, ge=1, le=16)
    max_key_points: int = Field(default=8, ge=1, le=30)


def make_extract(params: ExtractParams) -> NodeFn:
    """Ask the provider for items in every chunk (with the last validation's findings, on a retry)."""

    async def extract(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        provider = runtime.context.provider
        try:
            parts = await _extract_all(
                provider,
                state.get("chunks", []),
                state,
                max_concurrency=params.max_concurrency,
                max_key_points=params.max_key_points,
                feedback=state.get("findings", []),
            )
        except ProviderError as exc:
            # Recorded, not swallowed: the validate router sends the run to the fallback.
            log.warning("provider %s failed to extract: %s", provider.name, exc)
            return {"extractions": [], "provider_error": str(exc)}
        return {"extractions": parts, "provider_error": None}

    return extract


class MergeParams(Params):
    """Items whose token overlap (Jaccard) reaches ``similarity`` are one item."""

    similarity: float = Field(default=0.6, ge=0.2, le=1.0)
    max_key_points: int = Field(default=10, ge=1, le=50)


def make_merge(params: MergeParams) -> NodeFn:
    """Merge the chunks' extractions into one draft without duplicates."""

    async def merge(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        draft = merge_extractions(
            state.get("extractions", []), similarity=params.similarity, max_key_points=params.max_key_points
        )
        return {"draft": draft}

    return merge


class ComposeParams(Params):
    """Upper bound of the overview's length."""

    max_overview_chars: int = Field(default=1200, ge=200, le=5000)


def make_compose(params: ComposeParams) -> NodeFn:
    """A title and an overview from the draft (skipped when the provider already failed)."""

    async def compose(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        if state.get("provider_error"):
            return {}
        provider = runtime.context.provider
        try:
            composition = await _compose(
                provider,
                state.get("draft", Extraction()),
                state,
                max_chars=params.max_overview_chars,
                feedback=state.get("findings", []),
            )
        except ProviderError as exc:
            log.warning("provider %s failed to compose: %s", provider.name, exc)
            return {"provider_error": str(exc)}
        return {"title": composition.title, "overview": composition.overview}

    return compose


class ValidateParams(Params):
    """Which grounding checks beyond the always-on ones apply."""

    require_owners: bool = False
    check_overview_names: bool = True


def make_validate(params: ValidateParams) -> NodeFn:
    """Check grounding; the findings go back to the provider on a retry."""

    async def validate(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        attempts = state.get("attempts", 0) + 1
        error = state.get("provider_error")
        if error:
            return {"findings": [f"the provider failed: {error}"], "attempts": attempts}
        findings = check_grounding(
            state.get("draft", Extraction()),
            utterances=state.get("utterances", []),
            speakers=state.get("speakers", []),
            title=state.get("title", ""),
            overview=state.get("overview", ""),
            require_owners=params.require_owners,
            check_overview=params.check_overview_names,
        )
        if findings:
            log.info("validation attempt %d: %d findings", attempts, len(findings))
        return {"findings": findings, "attempts": attempts}

    return validate


class FallbackParams(Params):
    """The fallback runs the offline extractive provider over the whole transcript."""

    max_key_points: int = Field(default=8, ge=1, le=30)
    max_overview_chars: int = Field(default=1200, ge=200, le=5000)


def make_fallback(params: FallbackParams) -> NodeFn:
    """Summarise with the extractive provider; anything still ungrounded is dropped, not kept."""

    async def fallback(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        provider = runtime.context.fallback()
        utterances = state.get("utterances", [])
        participants = participants_of(state)
        speakers = state.get("speakers") or speaker_stats(utterances, participants)
        chunks = chunk_utterances(utterances, provider.context_chars, 2)
        parts = await _extract_all(
            provider, chunks, state, max_concurrency=1, max_key_points=params.max_key_points, feedback=[]
        )
        draft = merge_extractions(parts, similarity=0.6, max_key_points=params.max_key_points)
        draft = drop_ungrounded(draft, utterances, {s.name for s in speakers})
        composition = await _compose(
            provider, draft, {**state, "speakers": speakers}, max_chars=params.max_overview_chars, feedback=[]
        )
        log.warning("summary fell back to the %s provider: %s", provider.name, state.get("findings", []))
        return {
            "speakers": speakers,
            "draft": draft,
            "title": composition.title,
            "overview": composition.overview,
            "provider": provider.name,
            "model": provider.model,
            "fallback_used": True,
        }

    return fallback


# ---------------------------------------------------------------------------------------- routers
class GroundingRouteParams(Params):
    """How many times a failed validation is retried with its findings before falling back."""

    max_retries: int = Field(default=1, ge=0, le=3)


GroundingOutcome = Literal["pass", "retry", "fallback"]


def make_grounding_route(params: GroundingRouteParams) -> Callable[[SummaryState], GroundingOutcome]:
    """Pass when grounded; retry with findings up to ``max_retries`` times; else fall back."""

    def route(state: SummaryState) -> GroundingOutcome:
        if state.get("provider_error"):
            return "fallback"
        if not state.get("findings"):
            return "pass"
        if state.get("attempts", 0) <= params.max_retries:
            return "retry"
        return "fallback"

    return route


NODE_TYPES: dict[str, NodeType] = {
    t.name: t
    for t in (
        NodeType(
            "prepare",
            "speakers, talk time, chunks",
            PrepareParams,
            make_prepare,
            frozenset({"utterances"}),
            frozenset({"speakers", "chunks", "attempts", "findings", "provider", "model"}),
        ),
        NodeType(
            "extract",
            "provider extraction per chunk",
            ExtractParams,
            make_extract,
            frozenset({"chunks"}),
            frozenset({"extractions", "provider_error"}),
        ),
        NodeType(
            "merge",
            "merge and de-duplicate",
            MergeParams,
            make_merge,
            frozenset({"extractions"}),
            frozenset({"draft"}),
        ),
        NodeType(
            "compose",
            "title and overview",
            ComposeParams,
            make_compose,
            frozenset({"draft"}),
            frozenset({"title", "overview"}),
        ),
        NodeType(
            "validate",
            "grounding checks",
            ValidateParams,
            make_validate,
            frozenset({"draft"}),
            frozenset({"findings", "attempts"}),
        ),
        NodeType(
            "fallback",
            "offline extractive summary",
            FallbackParams,
            make_fallback,
            frozenset({"utterances"}),
            frozenset({"speakers", "draft", "title", "overview", "provider", "model"}),
        ),
    )
}

ROUTER_TYPES: dict[str, RouterType] = {
    "grounding": RouterType(
        name="grounding",
        description="pass / retry with findings (bounded) / fall back",
        params=GroundingRouteParams,
        make=make_grounding_route,
        outcomes=("pass", "retry", "fallback"),
        requires=frozenset({"findings", "attempts"}),
        bounded=True,
        exits=("pass", "fallback"),
    ),
}
