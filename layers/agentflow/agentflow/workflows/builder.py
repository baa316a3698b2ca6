"""``WorkflowBuilder(spec).build()``: a validated ``WorkflowSpec`` compiled into a LangGraph graph."""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END as GRAPH_END
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentflow.schemas.summary import NodeTiming
from agentflow.workflows.nodes import NODE_TYPES, ROUTER_TYPES, NodeFn, Update
from agentflow.workflows.spec import END, WorkflowSpec, validate_spec
from agentflow.workflows.state import SummaryState, WorkflowContext

CompiledWorkflow = CompiledStateGraph[SummaryState, WorkflowContext, SummaryState, SummaryState]


def timed(node_id: str, fn: NodeFn) -> NodeFn:
    """Wrap a node so that each run appends its wall time to ``state["timings"]``."""

    async def node(state: SummaryState, runtime: Runtime[WorkflowContext]) -> Update:
        started = time.perf_counter()
        update = await fn(state, runtime)
        seconds = round(time.perf_counter() - started, 6)
        return {**update, "timings": [NodeTiming(node=node_id, seconds=seconds)]}

    node.__name__ = node_id
    return node


class WorkflowBuilder:
    """Build a LangGraph graph from a spec (a ``WorkflowSpec`` or its JSON as a dict)."""

    def __init__(self, spec: WorkflowSpec | dict[str, Any]) -> None:
        self.spec = validate_spec(spec)

    def build(self) -> CompiledWorkflow:
        """Compile the graph: one node per spec node, its edges and routes, ``max_steps`` as recursion limit."""
        spec = self.spec
        graph = StateGraph(SummaryState, context_schema=WorkflowContext)
        for node in spec.nodes:
            node_type = NODE_TYPES[node.type]
            action: Any = timed(node.id, node_type.make(node_type.params.model_validate(node.params)))
            graph.add_node(node.id, action)
        graph.add_edge(START, spec.start)
        for edge in spec.edges:
            graph.add_edge(edge.source, GRAPH_END if edge.target == END else edge.target)
        for route in spec.routes:
            router = ROUTER_TYPES[route.router]
            fn = router.make(router.params.model_validate(route.params))
            path_map: dict[str, str] = {o: GRAPH_END if t == END else t for o, t in route.targets.items()}
            graph.add_conditional_edges(route.source, fn, path_map)  # type: ignore[arg-type]
        compiled: CompiledWorkflow = graph.compile(name=spec.id).with_config(recursion_limit=spec.max_steps)
        return compiled
