"""``WorkflowSpec``: a workflow as data (nodes of registered types, edges, conditional routes).

``validate_spec`` checks shape and meaning and raises ``agentflow.errors.ValidationError`` whose
message names the offending node or edge: unknown node type, bad parameters, an edge to a missing
node, a node unreachable from the start, a node with no path to the end, a cycle without a bounded
exit, a node that runs before anything provides its input.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from agentflow.errors import ValidationError
from agentflow.workflows.nodes import INPUT_KEYS, NODE_TYPES, ROUTER_TYPES

END = "end"
RESERVED = frozenset({"start", END})
DEFAULT_WORKFLOW_ID = "meeting-summary-v1"


class NodeSpec(BaseModel):
    """One node: an id unique in the spec, a registered type, and that type's parameters."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: str = Field(..., min_length=1, max_length=40)
    params: dict[str, Any] = Field(default_factory=dict)


class EdgeSpec(BaseModel):
    """An unconditional edge; ``target`` may be ``"end"``."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(..., max_length=40)
    target: str = Field(..., max_length=40)


class RouteSpec(BaseModel):
    """A conditional route out of ``source``: the router's outcome picks the target."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(..., max_length=40)
    router: str = Field(..., max_length=40)
    params: dict[str, Any] = Field(default_factory=dict)
    targets: dict[str, str]


class WorkflowSpec(BaseModel):
    """A summary workflow; ``start`` is the first node, ``"end"`` the terminal."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    version: int = Field(default=1, ge=1)
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    start: str
    nodes: list[NodeSpec] = Field(..., min_length=1, max_length=50)
    edges: list[EdgeSpec] = Field(default_factory=list, max_length=200)
    routes: list[RouteSpec] = Field(default_factory=list, max_length=50)
    max_steps: int = Field(default=50, ge=5, le=500, description="LangGraph recursion limit")


def _where(spec: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Describe a pydantic error location, naming the node or edge when there is one."""
    if len(loc) >= 2 and loc[0] in ("nodes", "edges", "routes") and isinstance(loc[1], int):
        items = spec.get(str(loc[0]))
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        rest = ".".join(str(p) for p in loc[2:])
        if isinstance(item, dict) and loc[0] == "nodes":
            label = f"node {item.get('id', f'#{loc[1] + 1}')!r}"
        elif isinstance(item, dict):
            label = f"{str(loc[0])[:-1]} {item.get('source', '?')!r} -> {item.get('target', item.get('router', '?'))!r}"
        else:
            label = f"{loc[0]}[{loc[1]}]"
        return f"{label}: {rest}" if rest else label
    return ".".join(str(p) for p in loc) or "spec"


def _params_error(label: str, exc: pydantic.ValidationError) -> ValidationError:
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first.get("loc", ())) or "params"
    return ValidationError(f"{label}: parameter {name!r}: {first.get('msg', 'invalid')}", field="params")


def _reach(start: str, graph: dict[str, set[str]], *, blocked: str | None = None) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        current = todo.pop()
        if current == blocked:
            continue
        for nxt in graph.get(current, set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cycles(nodes: list[str], graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative), in node order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.get(root, set())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            if children:
                child = children.pop(0)
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.get(child, set()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, set()):
                    found.append(sorted(component, key=nodes.index))
    return found


def validate_spec(data: dict[str, Any] | WorkflowSpec) -> WorkflowSpec:
    """Parse and check a workflow spec.

    Raises:
        ValidationError: with a message naming the offending node or edge.
    """
    raw = data.model_dump() if isinstance(data, WorkflowSpec) else data
    if not isinstance(raw, dict):
        raise ValidationError("a workflow spec must be a JSON object", field="spec")
    try:
        spec = WorkflowSpec.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first.get("loc", ()))
        raise ValidationError(
            f"{_where(raw, loc)}: {first.get('msg', 'invalid')}", field=str(loc[0]) if loc else "spec"
        ) from exc

    ids = [n.id for n in spec.nodes]
    seen: set[str] = set()
    for node in spec.nodes:
        if node.id in RESERVED:
            raise ValidationError(f"node {node.id!r}: the id is reserved", field="nodes")
        if node.id in seen:
            raise ValidationError(f"node {node.id!r} is defined twice", field="nodes")
        seen.add(node.id)
        node_type = NODE_TYPES.get(node.type)
        if node_type is None:
            raise ValidationError(
                f"node {node.id!r} has unknown type {node.type!r} (known: {', '.join(sorted(NODE_TYPES))})",
                field="nodes",
            )
        try:
            node_type.params.model_validate(node.params)
        except pydantic.ValidationError as exc:
            raise _params_error(f"node {node.id!r} ({node.type})", exc) from exc
    if spec.start not in seen:
        raise ValidationError(f"start node {spec.start!r} is not a node", field="start")

    graph: dict[str, set[str]] = {n: set() for n in [*ids, END]}
    for edge in spec.edges:
        label = f"edge {edge.source!r} -> {edge.target!r}"
        if edge.source not in seen:
            raise ValidationError(f"{label}: source {edge.source!r} is not a node", field="edges")
        if edge.target not in seen and edge.target != END:
            raise ValidationError(f"{label}: target {edge.target!r} is not a node", field="edges")
        if graph[edge.source]:
            raise ValidationError(
                f"{label}: node {edge.source!r} already has an outgoing edge (one per node; use a route to branch)",
                field="edges",
            )
        graph[edge.source].add(edge.target)
    routed: set[str] = set()
    for route in spec.routes:
        label = f"route from {route.source!r} ({route.router})"
        if route.source not in seen:
            raise ValidationError(f"{label}: source {route.source!r} is not a node", field="routes")
        router = ROUTER_TYPES.get(route.router)
        if router is None:
            raise ValidationError(
                f"{label}: unknown router {route.router!r} (known: {', '.join(sorted(ROUTER_TYPES))})",
                field="routes",
            )
        try:
            router.params.model_validate(route.params)
        except pydantic.ValidationError as exc:
            raise _params_error(label, exc) from exc
        if route.source in routed or graph[route.source]:
            raise ValidationError(
                f"{label}: node {route.source!r} already has an outgoing edge or route", field="routes"
            )
        routed.add(route.source)
        for outcome in router.outcomes:
            if outcome not in route.targets:
                raise ValidationError(f"{label}: no target for outcome {outcome!r}", field="routes")
        for outcome, target in route.targets.items():
            if outcome not in router.outcomes:
                raise ValidationError(
                    f"{label}: unknown outcome {outcome!r} (outcomes: {', '.join(router.outcomes)})",
                    field="routes",
                )
            if target not in seen and target != END:
                raise ValidationError(
                    f"{label}: outcome {outcome!r} goes to {target!r}, which is not a node", field="routes"
                )
            graph[route.source].add(target)

    reachable = _reach(spec.start, graph)
    for node_id in ids:
        if node_id not in reachable:
            raise ValidationError(
                f"node {node_id!r} is unreachable from the start node {spec.start!r}", field="nodes"
            )
    reverse: dict[str, set[str]] = {n: set() for n in graph}
    for src, targets in graph.items():
        for dst in targets:
            reverse[dst].add(src)
    finishing = _reach(END, reverse)
    for node_id in ids:
        if node_id not in finishing:
            raise ValidationError(f"node {node_id!r} has no path to the end", field="nodes")

    for component in _cycles(ids, graph):
        members = set(component)
        bounded = False
        for route in spec.routes:
            router = ROUTER_TYPES[route.router]
            leaves = all(route.targets[e] not in members for e in router.exits)
            if route.source in members and router.bounded and leaves:
                bounded = True
        if not bounded:
            loop = " -> ".join([*component, component[0]])
            raise ValidationError(
                f"cycle {loop} has no bounded exit: close it with a bounded route (e.g. 'grounding') "
                "whose exits leave the cycle",
                field="edges",
            )

    _check_inputs(spec, graph, reverse)
    return spec


def _check_inputs(spec: WorkflowSpec, graph: dict[str, set[str]], reverse: dict[str, set[str]]) -> None:
    """Every node's inputs come from the caller or from a node on some path from the start to it.

    "Before" means reachable from the start without passing through the node itself, so a node in a
    cycle cannot rely on what only a later node of the cycle provides: its first run would lack it.
    """
    types = {n.id: NODE_TYPES[n.type] for n in spec.nodes}

    def available(node_id: str) -> set[str]:
        before = (_reach(spec.start, graph, blocked=node_id) & _reach(node_id, reverse)) - {node_id, END}
        return set(INPUT_KEYS).union(*(types[b].provides for b in before))

    for node in spec.nodes:
        for key in sorted(types[node.id].requires - available(node.id)):
            raise ValidationError(
                f"node {node.id!r} ({node.type}) needs {key!r}, which no node before it provides",
                field="nodes",
            )
    for route in spec.routes:
        # The route runs after its source node, so the source's own outputs count.
        keys = available(route.source) | types[route.source].provides
        for key in sorted(ROUTER_TYPES[route.router].requires - keys):
            raise ValidationError(
                f"route from {route.source!r} ({route.router}) needs {key!r}, which no node before it provides",
                field="routes",
            )


@cache
def _default_spec_json() -> str:
    return (
        resources.files("agentflow.workflows")
        .joinpath("specs", f"{DEFAULT_WORKFLOW_ID}.json")
        .read_text("utf-8")
    )


def default_spec() -> WorkflowSpec:
    """The built-in ``meeting-summary-v1`` spec (validated)."""
    return validate_spec(json.loads(_default_spec_json()))
