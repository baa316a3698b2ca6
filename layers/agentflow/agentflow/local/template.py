"""Read ``template.yaml`` — the single source of truth for resources — into plain Python.

CloudFormation short-form tags (``!Ref``, ``!GetAtt``, ``!Sub``) become their long forms, so the
provisioner can resolve them against the local stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[4]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that understands CloudFormation's short-form intrinsic functions."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class QueueSpec:
    """A queue as the template declares it."""

    logical_id: str
    visibility_timeout: int
    dlq: str | None  # logical id of its dead-letter queue
    max_receive_count: int | None


@dataclass(frozen=True)
class EventSource:
    """An SQS event source mapping of a function."""

    queue: str  # logical id
    batch_size: int
    report_batch_item_failures: bool
    # Seconds Lambda may wait to fill a batch (0: invoke with what one receive returns).
    max_batching_window: int = 0


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the template declares it."""

    logical_id: str
    name: str  # folder under functions/
    timeout: int
    environment: dict[str, Any]
    sources: list[EventSource] = field(default_factory=list)
    memory_size: int = 128  # MB, Lambda's default
    ephemeral_storage: int = 512  # MB of /tmp, Lambda's default
    code_dir: Path | None = None  # where handler.py lives (default functions/{name}/)

    @property
    def handler_path(self) -> Path:
        """The function's ``handler.py``."""
        return (self.code_dir or PROJECT_ROOT / "functions" / self.name) / "handler.py"


@dataclass(frozen=True)
class Template:
    """The parts of template.yaml the local stack needs."""

    resources: dict[str, dict[str, Any]]
    parameters: dict[str, dict[str, Any]]
    global_environment: dict[str, Any]
    queues: dict[str, QueueSpec]
    functions: dict[str, FunctionSpec]
    conditions: dict[str, Any] = field(default_factory=dict)

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        """Return the resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}


def _function_name(logical_id: str, props: dict[str, Any]) -> str:
    code_uri = props.get("CodeUri")
    if code_uri:
        return Path(code_uri).name
    dockerfile = props.get("_Metadata", {}).get("Dockerfile", "")
    if dockerfile:
        return Path(dockerfile).parent.name
    return logical_id.removesuffix("Function").lower()


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> Template:
    """Parse the SAM template at ``path``."""
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    resources: dict[str, dict[str, Any]] = doc["Resources"]
    global_fn = doc.get("Globals", {}).get("Function", {})
    global_env = global_fn.get("Environment", {}).get("Variables", {})

    queues: dict[str, QueueSpec] = {}
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::SQS::Queue":
            continue
        props = res.get("Properties", {})
        redrive = props.get("RedrivePolicy")
        queues[logical_id] = QueueSpec(
            logical_id=logical_id,
            visibility_timeout=int(props.get("VisibilityTimeout", 30)),
            dlq=redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] if redrive else None,
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
        )

    functions: dict[str, FunctionSpec] = {}
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = dict(res.get("Properties", {}))
        props["_Metadata"] = res.get("Metadata", {})
        sources = [
            _event_source(logical_id, event["Properties"])
            for event in props.get("Events", {}).values()
            if event["Type"] == "SQS"
        ]
        storage = props.get("EphemeralStorage", global_fn.get("EphemeralStorage", {}))
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=_function_name(logical_id, props),
            timeout=int(props.get("Timeout", global_fn.get("Timeout", 3))),
            environment={**global_env, **props.get("Environment", {}).get("Variables", {})},
            sources=sources,
            memory_size=int(props.get("MemorySize", global_fn.get("MemorySize", 128))),
            ephemeral_storage=int(storage.get("Size", 512)),
        )
    return Template(
        resources=resources,
        parameters=doc.get("Parameters", {}),
        global_environment=global_env,
        queues=queues,
        functions=functions,
        conditions=doc.get("Conditions", {}),
    )


def _event_source(function: str, props: dict[str, Any]) -> EventSource:
    """An SQS event source, with the limits Lambda itself enforces when the mapping is created."""
    batch_size = int(props.get("BatchSize", 10))
    window = int(props.get("MaximumBatchingWindowInSeconds", 0))
    if not 1 <= batch_size <= 10_000 or not 0 <= window <= 300:
        raise ValueError(f"{function}: BatchSize {batch_size} or batching window {window} s out of range")
    if batch_size > 10 and window == 0:
        # Lambda refuses this mapping: more than one receive's worth needs time to gather.
        raise ValueError(f"{function}: BatchSize {batch_size} > 10 needs MaximumBatchingWindowInSeconds")
    return EventSource(
        queue=props["Queue"]["Fn::GetAtt"][0],
        batch_size=batch_size,
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        max_batching_window=window,
    )
