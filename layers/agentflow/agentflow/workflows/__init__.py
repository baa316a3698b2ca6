"""Summary workflows: ``WorkflowSpec`` -> ``WorkflowBuilder`` -> ``WorkflowExecutor`` (LangGraph).

The summarize stage calls ``run_summary``; the API calls ``validate_spec``. Names load on first use
so that spec validation (the API) does not import langgraph or numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentflow.workflows.builder import WorkflowBuilder
    from agentflow.workflows.executor import ExecutionResult, WorkflowExecutor, context_from_settings
    from agentflow.workflows.grounding import check_grounding
    from agentflow.workflows.run import run_summary, validate_summary
    from agentflow.workflows.spec import (
        DEFAULT_WORKFLOW_ID,
        EdgeSpec,
        NodeSpec,
        RouteSpec,
        WorkflowSpec,
        default_spec,
        validate_spec,
    )
    from agentflow.workflows.state import SummaryState, WorkflowContext

_WHERE = {
    "WorkflowBuilder": "builder",
    "ExecutionResult": "executor",
    "WorkflowExecutor": "executor",
    "context_from_settings": "executor",
    "check_grounding": "grounding",
    "run_summary": "run",
    "validate_summary": "run",
    "DEFAULT_WORKFLOW_ID": "spec",
    "EdgeSpec": "spec",
    "NodeSpec": "spec",
    "RouteSpec": "spec",
    "WorkflowSpec": "spec",
    "default_spec": "spec",
    "validate_spec": "spec",
    "SummaryState": "state",
    "WorkflowContext": "state",
}

__all__ = [
    "DEFAULT_WORKFLOW_ID",
    "EdgeSpec",
    "ExecutionResult",
    "NodeSpec",
    "RouteSpec",
    "SummaryState",
    "WorkflowBuilder",
    "WorkflowContext",
    "WorkflowExecutor",
    "WorkflowSpec",
    "check_grounding",
    "context_from_settings",
    "default_spec",
    "run_summary",
    "validate_spec",
    "validate_summary",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
