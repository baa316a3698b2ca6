"""``WorkflowExecutor(graph).execute(input)``: run a built workflow and report what each node took."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from agentflow.schemas.summary import NodeTiming
from agentflow.workflows.builder import CompiledWorkflow
from agentflow.workflows.state import SummaryState, WorkflowContext


@dataclass(frozen=True)
class ExecutionResult:
    """The final state, per-node wall times in run order, and the total (seconds)."""

    state: SummaryState
    timings: tuple[NodeTiming, ...]
    seconds: float

    @property
    def path(self) -> tuple[str, ...]:
        """The nodes in the order they ran (a retried node appears again)."""
        return tuple(t.node for t in self.timings)


class WorkflowExecutor:
    """Runs a compiled workflow with a run-scoped context (the providers)."""

    def __init__(self, graph: CompiledWorkflow, *, context: WorkflowContext | None = None) -> None:
        self.graph = graph
        self.context = context

    async def execute(
        self, input: SummaryState | dict[str, Any], *, context: WorkflowContext | None = None
    ) -> ExecutionResult:
        """Run the graph on ``input`` (the initial state).

        Args:
            input: at least ``utterances``; also ``participants``, ``language``, ``duration``.
            context: the providers for this run (default: the executor's, else from settings).
        """
        ctx = context or self.context or default_context()
        started = time.perf_counter()
        output = await self.graph.ainvoke(cast(SummaryState, dict(input)), context=ctx)
        state = cast(SummaryState, output)
        seconds = round(time.perf_counter() - started, 6)
        return ExecutionResult(state=state, timings=tuple(state.get("timings", [])), seconds=seconds)


def default_context() -> WorkflowContext:
    """The provider chosen by settings, with the extractive provider as fallback."""
    from agentflow.settings import get_settings

    return context_from_settings(get_settings())


def context_from_settings(settings: Any) -> WorkflowContext:
    """Context for ``settings.summary_provider`` (``extractive`` is also the fallback)."""
    from agentflow.workflows.providers import extractive_provider, get_provider

    return WorkflowContext(provider=get_provider(settings), fallback=extractive_provider)
