"""WorkflowSpec validation (every error names its node or edge) and WorkflowBuilder."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from agentflow.errors import ValidationError
from agentflow.workflows import WorkflowBuilder, default_spec, validate_spec
from agentflow.workflows.nodes import GroundingRouteParams, make_grounding_route
from langgraph.graph.state import CompiledStateGraph


def base() -> dict[str, Any]:
    """A fresh copy of the default spec as JSON data."""
    return copy.deepcopy(default_spec().model_dump())


def without_fallback(spec: dict[str, Any]) -> dict[str, Any]:
    spec["nodes"] = [n for n in spec["nodes"] if n["id"] != "fallback"]
    spec["edges"] = [e for e in spec["edges"] if e["source"] != "fallback"]
    return spec


def error_of(spec: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_spec(spec)
    return caught.value.message


def test_default_spec_is_valid_and_builds_a_graph_with_its_nodes() -> None:
    # GIVEN the built-in spec  WHEN it is built
    spec = default_spec()
    graph = WorkflowBuilder(spec).build()
    # THEN it is a compiled LangGraph graph with one node per spec node
    assert isinstance(graph, CompiledStateGraph)
    assert spec.id == "meeting-summary-v1"
    assert {n.id for n in spec.nodes} <= set(graph.get_graph().nodes)
    # AND the conditional route's three outcomes are edges of the drawn graph
    edges = {(e.source, e.target) for e in graph.get_graph().edges}
    assert {("validate", "extract"), ("validate", "fallback"), ("validate", "__end__")} <= edges


def test_builder_accepts_the_spec_as_a_dict() -> None:
    assert WorkflowBuilder(base()).spec == default_spec()


def test_unknown_node_type_is_named() -> None:
    spec = base()
    spec["nodes"][2]["type"] = "summarise_magic"
    message = error_of(spec)
    assert "node 'merge'" in message and "unknown type 'summarise_magic'" in message


def test_bad_parameters_name_the_node_and_parameter() -> None:
    spec = base()
    spec["nodes"][1]["params"] = {"max_concurrency": 99}
    message = error_of(spec)
    assert "node 'extract' (extract)" in message and "max_concurrency" in message


def test_unknown_parameter_is_rejected() -> None:
    spec = base()
    spec["nodes"][0]["params"] = {"chunk": 5}
    assert "node 'prepare' (prepare): parameter 'chunk'" in error_of(spec)


def test_edge_to_a_missing_node_is_named() -> None:
    spec = base()
    spec["edges"][1]["target"] = "mergee"
    message = error_of(spec)
    assert "edge 'extract' -> 'mergee'" in message and "not a node" in message


def test_route_to_a_missing_node_is_named() -> None:
    spec = base()
    spec["routes"][0]["targets"]["fallback"] = "nowhere"
    assert "route from 'validate' (grounding): outcome 'fallback' goes to 'nowhere'" in error_of(spec)


def test_route_missing_an_outcome_is_named() -> None:
    spec = base()
    del spec["routes"][0]["targets"]["retry"]
    assert "no target for outcome 'retry'" in error_of(spec)


def test_unknown_router_is_named() -> None:
    spec = base()
    spec["routes"][0]["router"] = "coin_flip"
    assert "route from 'validate' (coin_flip): unknown router" in error_of(spec)


def test_unreachable_node_is_named() -> None:
    spec = base()
    spec["nodes"].append({"id": "orphan", "type": "compose", "params": {}})
    spec["edges"].append({"source": "orphan", "target": "end"})
    assert error_of(spec) == "node 'orphan' is unreachable from the start node 'prepare'"


def test_node_without_a_path_to_the_end_is_named() -> None:
    # GIVEN a fallback that goes nowhere (no edge out)
    spec = base()
    spec["edges"] = [e for e in spec["edges"] if e["source"] != "fallback"]
    assert error_of(spec) == "node 'fallback' has no path to the end"


def test_cycle_without_a_bounded_exit_is_named() -> None:
    # GIVEN validate sends "fallback" back into the loop: once retries run out, it never leaves
    spec = without_fallback(base())
    spec["routes"][0]["targets"]["fallback"] = "extract"
    message = error_of(spec)
    assert message.startswith("cycle extract -> merge -> compose -> validate -> extract has no bounded exit")


def test_plain_edge_cycle_is_rejected_as_having_no_way_out() -> None:
    # GIVEN validate loops back by a plain edge (one edge per node: the loop has no exit at all)
    spec = without_fallback(base())
    spec["routes"] = []
    spec["edges"].append({"source": "validate", "target": "extract"})
    assert error_of(spec) == "node 'prepare' has no path to the end"


def test_second_outgoing_edge_is_named() -> None:
    spec = base()
    spec["edges"].append({"source": "prepare", "target": "merge"})
    assert "edge 'prepare' -> 'merge': node 'prepare' already has an outgoing edge" in error_of(spec)


def test_node_before_its_input_is_named() -> None:
    # GIVEN merge runs straight after prepare: nothing has extracted yet
    spec = base()
    spec["edges"][0]["target"] = "merge"
    spec["nodes"] = [n for n in spec["nodes"] if n["id"] != "extract"]
    spec["edges"] = [e for e in spec["edges"] if e["source"] != "extract"]
    spec["routes"][0]["targets"]["retry"] = "merge"
    assert error_of(spec) == "node 'merge' (merge) needs 'extractions', which no node before it provides"


def test_duplicate_and_reserved_ids_are_named() -> None:
    spec = base()
    spec["nodes"].append({"id": "merge", "type": "merge", "params": {}})
    assert error_of(spec) == "node 'merge' is defined twice"
    spec = base()
    spec["nodes"][0]["id"] = "end"
    spec["start"] = "end"
    assert "node 'end': the id is reserved" in error_of(spec)


def test_shape_errors_name_the_node() -> None:
    spec = base()
    spec["nodes"][3]["id"] = "Bad Id"
    assert error_of(spec).startswith("node 'Bad Id': id:")
    assert error_of({"id": "x"}).startswith("start:")
    assert error_of([]) == "a workflow spec must be a JSON object"  # type: ignore[arg-type]


def test_missing_start_node_is_named() -> None:
    spec = base()
    spec["start"] = "begin"
    assert error_of(spec) == "start node 'begin' is not a node"


def test_a_shorter_valid_workflow_without_retry_is_accepted() -> None:
    spec = {
        "id": "quick",
        "start": "prepare",
        "nodes": [
            {"id": "prepare", "type": "prepare"},
            {"id": "extract", "type": "extract"},
            {"id": "merge", "type": "merge"},
        ],
        "edges": [
            {"source": "prepare", "target": "extract"},
            {"source": "extract", "target": "merge"},
            {"source": "merge", "target": "end"},
        ],
    }
    assert [n.id for n in validate_spec(spec).nodes] == ["prepare", "extract", "merge"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"findings": [], "attempts": 1}, "pass"),
        ({"findings": ["x"], "attempts": 1}, "retry"),
        ({"findings": ["x"], "attempts": 2}, "fallback"),
        ({"findings": [], "attempts": 1, "provider_error": "boom"}, "fallback"),
    ],
)
def test_grounding_router_is_bounded(state: dict[str, Any], expected: str) -> None:
    # GIVEN one retry allowed  THEN the router passes, retries once, then falls back
    route = make_grounding_route(GroundingRouteParams(max_retries=1))
    assert route(state) == expected  # type: ignore[arg-type]
