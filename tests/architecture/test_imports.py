"""The package's import graph: no cycles, and dependencies point down the layers (docs/ARCHITECTURE.md).

Every ``import`` counts, including those inside functions (a deferred import still couples the two
modules), read with ``ast`` so nothing is executed.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "agentflow" / "agentflow"

# Lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS: list[set[str]] = [
    {"agentflow", "errors", "ids", "settings", "net", "webhooks", "schemas"},  # foundation
    {"aws"},  # the table's keys and records, boto3 clients
    {"crypto", "speech", "workflows", "reports"},  # domain libraries
    {"services"},  # operations on the table, S3, SQS, KMS
    {"api", "stages", "signaling"},  # the edges: HTTP routes, queue stages, WebSocket routes
    {"local"},  # the local stack that runs the edges
    {"cli"},  # the command line
]
# Within the edges' layer: the HTTP API and the queue stages never import each other.
FORBIDDEN = {
    ("api", "stages"),
    ("stages", "api"),
    ("stages", "signaling"),
    ("signaling", "api"),
    ("signaling", "stages"),
}


def _name(path: Path) -> str:
    parts = ["agentflow", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports (anywhere in its body)."""
    modules = {_name(p): p for p in PACKAGE.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {resolve(a.name) for a in node.names if a.name.split(".")[0] == "agentflow"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                if base.split(".")[0] == "agentflow":
                    found |= {resolve(f"{base}.{a.name}") for a in node.names}
        edges[module] = {m for m in found if m is not None and m != module}
    return edges


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "agentflow"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                cycles.append(sorted([v, *component]))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return cycles


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "agentflow.cli" in edges and "agentflow.services.sessions" in edges
    assert "agentflow.aws.keys" in edges["agentflow.services.sessions"]


def test_no_import_cycle() -> None:
    assert _cycles(graph()) == []


def test_a_cycle_would_be_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_dependencies_point_down_the_layers() -> None:
    layer = {area: i for i, areas in enumerate(LAYERS) for area in areas}
    wrong = []
    for module, imported in sorted(graph().items()):
        for target in sorted(imported):
            source_area, target_area = _area(module), _area(target)
            if source_area not in layer or target_area not in layer:
                wrong.append(f"{module} -> {target}: add the area to LAYERS")
            elif layer[target_area] > layer[source_area] or (source_area, target_area) in FORBIDDEN:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


# What a service may take from boto3 and botocore: condition expressions and errors, nothing that
# makes a client or a session. Services receive their clients (the table, S3, SQS, KMS, Secrets
# Manager) from the edges, which build them with agentflow.aws.clients.
SERVICE_AWS_IMPORTS = ("boto3.dynamodb.conditions", "botocore.exceptions")


def _aws_sdk_imports(source: str) -> list[str]:
    """The boto3 / botocore names a module imports that a service may not (anywhere in its body)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [f"{node.module}.{a.name}" for a in node.names]
    return [
        name
        for name in names
        if name.split(".")[0] in ("boto3", "botocore")
        and not any(name == ok or name.startswith(f"{ok}.") for ok in SERVICE_AWS_IMPORTS)
    ]


def test_services_receive_their_clients() -> None:
    # GIVEN every module of agentflow.services
    services = sorted((PACKAGE / "services").rglob("*.py"))
    assert len(services) > 5
    # THEN none reaches for a process-wide client: no agentflow.aws.clients, no boto3 client or session
    wrong = [
        f"{module} -> agentflow.aws.clients"
        for module, imported in sorted(graph().items())
        if _area(module) == "services" and "agentflow.aws.clients" in imported
    ]
    wrong += [
        f"{_name(path)} -> {name}" for path in services for name in _aws_sdk_imports(path.read_text("utf-8"))
    ]
    assert wrong == []


def test_a_service_reaching_for_a_client_would_be_found() -> None:
    source = (
        "import boto3\n"
        "from boto3 import client\n"
        "from boto3.dynamodb.conditions import Attr\n"
        "from botocore.exceptions import ClientError\n"
        "def f():\n"
        "    import botocore.session\n"
    )
    assert sorted(_aws_sdk_imports(source)) == ["boto3", "boto3.client", "botocore.session"]
