"""The graph's state (a ``TypedDict``) and its run-scoped context (the providers).

Nodes read the state and return partial updates; only ``timings`` has a reducer (appended), every
other key is replaced by the node that writes it. Providers reach nodes through LangGraph's runtime
context, never a module global, so tests inject fakes per run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypedDict

from agentflow.schemas.summary import NodeTiming, SpeakerStats, Utterance
from agentflow.workflows.providers.base import Extraction, Participant, SummaryProvider


class SummaryState(TypedDict, total=False):
    """Everything the summary workflow knows at one step."""

    # input
    utterances: list[Utterance]
    participants: list[Participant]
    language: str
    duration: float  # seconds
    # prepare
    speakers: list[SpeakerStats]
    chunks: list[list[Utterance]]
    # extract / merge
    extractions: list[Extraction]
    draft: Extraction
    # compose
    title: str
    overview: str
    # validate
    findings: list[str]
    attempts: int  # validations run so far
    provider_error: str | None
    # what produced the result
    provider: str
    model: str
    fallback_used: bool
    timings: Annotated[list[NodeTiming], operator.add]


@dataclass(frozen=True)
class WorkflowContext:
    """Run-scoped dependencies: the configured provider and a factory for the offline fallback."""

    provider: SummaryProvider
    fallback: Callable[[], SummaryProvider]
