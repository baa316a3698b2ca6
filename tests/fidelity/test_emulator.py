"""The local Lambda emulation holds functions to the template's Timeout, MemorySize and batching.

Each test runs one poller over a queue named as CloudFormation names it, with a function of its
own (``functions/`` beside this file) whose spec says the limits.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from agentflow.aws.clients import client
from agentflow.local.provision import ACCOUNT_ID, Stack, physical_name
from agentflow.local.runner import Handler, Poller, RunnerOptions, start_pollers
from agentflow.local.stack import LocalStack
from agentflow.local.template import EventSource, FunctionSpec, Template, load_template

from tests.reliability.support import wait_for

FUNCTIONS = Path(__file__).resolve().parent / "functions"
CFN_NAME = re.compile(r"^(?P<stack>.+)-(?P<logical>[A-Za-z0-9]+)-(?P<suffix>[A-Z0-9]{13})$")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(api=False, pollers=False) as running:
        yield running


def _queue(stack: LocalStack, logical_id: str, *, visibility: int) -> tuple[str, str]:
    assert stack.stack is not None
    name = physical_name(stack.stack.name, logical_id, limit=80)
    url = client("sqs").create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})[
        "QueueUrl"
    ]
    return url, f"arn:aws:sqs:{stack.region}:{ACCOUNT_ID}:{name}"


def _poll(
    stack: LocalStack,
    fn: FunctionSpec,
    handler: Handler | None,
    *,
    visibility: int,
    options: RunnerOptions,
    batch_size: int = 1,
    window: int = 0,
) -> tuple[Poller, threading.Event]:
    url, arn = _queue(stack, fn.logical_id + "Queue", visibility=visibility)
    stop = threading.Event()
    poller = Poller(
        fn,
        handler,
        queue_url=url,
        queue_arn=arn,
        batch_size=batch_size,
        batching_window=window,
        region=stack.region,
        options=options,
        stop=stop,
    )
    poller.start()
    return poller, stop


def _stop(poller: Poller, stop: threading.Event) -> None:
    stop.set()
    poller.join(timeout=15)


def _spec(name: str, *, timeout: int, memory: int = 128) -> FunctionSpec:
    return FunctionSpec(
        logical_id=f"{name.title()}Function",
        name=name,
        timeout=timeout,
        environment={},
        memory_size=memory,
        code_dir=FUNCTIONS / name,
    )


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_an_invocation_over_its_timeout_is_stopped_and_redelivered_after_the_visibility_timeout(
    stack: LocalStack, isolation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a function with a 2 s Timeout whose first attempt would run 30 s, on a queue whose
    # visibility timeout is 5 s (the runner's 1 s retry shortcut must not apply to a timeout)
    monkeypatch.setenv("FIDELITY_STATE_DIR", str(tmp_path))
    options = RunnerOptions(isolation=isolation, retry_visibility_seconds=1)  # type: ignore[arg-type]
    poller, stop = _poll(stack, _spec("sleepy", timeout=2), None, visibility=5, options=options)
    try:
        sent_at = time.time()
        client("sqs").send_message(QueueUrl=poller.queue_url, MessageBody="{}")
        # WHEN it runs THEN the first attempt is stopped at its Timeout and the message comes back
        wait_for(lambda: len(poller.outcomes) >= 2, timeout=40, what="a second attempt")
    finally:
        _stop(poller, stop)
    starts = [float(t) for t in (tmp_path / "attempts").read_text().split()]
    assert poller.outcomes[0].startswith("error Task timed out after 2.00 seconds")
    assert poller.outcomes[1] == "ok"
    # The visibility timeout counts from the receive, which follows the send; the first attempt's
    # own start may lag the receive (a sandbox process spawning on a loaded machine: 4.33 s between
    # the two starts once), so the bound is taken from the send. The runner's 1 s retry shortcut
    # would bring the second attempt at ~3.2 s.
    assert starts[1] - sent_at >= 4.9, (sent_at, starts)
    assert starts[0] >= sent_at
    time.sleep(0.3)  # a thread asked to stop raises at its next sleep (every 0.05 s)
    assert not (tmp_path / "done").exists()


def test_an_invocation_over_its_memory_size_fails_and_one_under_it_succeeds(stack: LocalStack) -> None:
    # GIVEN a function of MemorySize 256 MB in its own sandbox process
    options = RunnerOptions(isolation="process", retry_visibility_seconds=1)
    poller, stop = _poll(stack, _spec("hog", timeout=20, memory=256), None, visibility=30, options=options)
    try:
        # WHEN one message asks for 16 MiB and, after it, one for 400 MiB
        client("sqs").send_message(QueueUrl=poller.queue_url, MessageBody=json.dumps({"mib": 16}))
        wait_for(lambda: len(poller.outcomes) >= 1, timeout=40, what="the small invocation")
        client("sqs").send_message(QueueUrl=poller.queue_url, MessageBody=json.dumps({"mib": 400}))
        wait_for(lambda: len(poller.outcomes) >= 2, timeout=40, what="the large invocation")
    finally:
        _stop(poller, stop)
    # THEN the first succeeds and the second is killed as Lambda kills it
    assert poller.outcomes[0] == "ok"
    assert "signal: killed" in poller.outcomes[1]
    assert "over MemorySize 256 MB" in poller.outcomes[1]


def test_a_batching_window_gathers_more_than_one_receive(stack: LocalStack) -> None:
    # GIVEN 15 messages waiting and a function with BatchSize 15 and a 2 s batching window
    batches: list[int] = []

    def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append(len(event["Records"]))
        return {"batchItemFailures": []}

    url, _ = _queue(stack, "PreloadQueue", visibility=30)
    fn = _spec("counter", timeout=10)
    options = RunnerOptions()
    sqs = client("sqs")
    for start in (0, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(start, min(start + 10, 15))],
        )
    stop = threading.Event()
    poller = Poller(
        fn,
        count,
        queue_url=url,
        queue_arn="arn:aws:sqs:::preload",
        batch_size=15,
        batching_window=2,
        region=stack.region,
        options=options,
        stop=stop,
    )
    poller.start()
    try:
        wait_for(lambda: sum(batches) >= 15, timeout=30, what="all 15 messages")
    finally:
        _stop(poller, stop)
    # THEN they arrive in one invocation (a single receive gives at most 10)
    assert batches == [15]


def test_an_event_source_runs_its_concurrency_in_sandboxes_of_their_own(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a function that takes 1 s per record, polled with concurrency 3 (Lambda runs five
    # batches at once from the start), and three messages waiting
    assert stack.stack is not None
    monkeypatch.setenv("FIDELITY_STATE_DIR", str(tmp_path))
    url, arn = _queue(stack, "OverlapQueue", visibility=30)
    fn = replace(_spec("overlap", timeout=20), sources=[EventSource("OverlapQueue", 1, True)])
    template = Template(
        resources={}, parameters={}, global_environment={}, queues={}, functions={"overlap": fn}
    )
    local = Stack(
        name=stack.stack.name,
        region=stack.region,
        parameters={},
        refs={"OverlapQueue": url},
        attrs={("OverlapQueue", "Arn"): arn},
    )
    client("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(3)]
    )
    stop = threading.Event()
    options = RunnerOptions(isolation="process", concurrency=3)
    pollers = start_pollers(template, local, options=options, stop=stop)
    try:
        runs = tmp_path / "runs"
        wait_for(lambda: runs.exists() and len(runs.read_text().splitlines()) >= 3, timeout=60, what="3 runs")
    finally:
        stop.set()
        for poller in pollers:
            poller.join(timeout=15)
    # WHEN they ran THEN three pollers ran them at once, each in a process of its own
    assert len(pollers) == 3
    spans = [line.split() for line in runs.read_text().splitlines()]
    assert max(float(start) for start, *_ in spans) < min(float(end) for _, end, *_ in spans)
    assert len({pid for _, _, pid, _ in spans}) == 3
    assert {memory for *_, memory in spans} == {str(fn.memory_size)}  # the context says MemorySize


def test_concurrency_above_one_needs_process_isolation() -> None:
    # threads of one process share its models (whisper, pyannote): two invocations must not
    with pytest.raises(ValueError, match="process isolation"):
        RunnerOptions(concurrency=2)
    with pytest.raises(ValueError, match="at least 1"):
        RunnerOptions(isolation="process", concurrency=0)


def test_the_template_mappings_are_read_with_lambdas_own_limits(tmp_path: Path) -> None:
    template = load_template()
    for fn in template.functions.values():
        for source in fn.sources:
            declared = template.resources[fn.logical_id]["Properties"]["Events"]
            [props] = [
                e["Properties"]
                for e in declared.values()
                if e["Properties"]["Queue"]["Fn::GetAtt"][0] == source.queue
            ]
            assert source.batch_size == int(props.get("BatchSize", 10))
            assert source.max_batching_window == int(props.get("MaximumBatchingWindowInSeconds", 0))
    bad = tmp_path / "template.yaml"
    bad.write_text(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  F:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: functions/f/\n      Events:\n        E:\n          Type: SQS\n"
        "          Properties: { Queue: !GetAtt Q.Arn, BatchSize: 20 }\n"
    )
    with pytest.raises(ValueError, match="needs MaximumBatchingWindowInSeconds"):
        load_template(bad)


def test_local_names_are_cloudformations(stack: LocalStack) -> None:
    assert stack.stack is not None
    template = load_template()
    # queues and the table: {stack}-{LogicalId}-{13 random upper-case letters and digits}
    for logical_id in [*template.queues, "Table"]:
        ref = stack.ref(logical_id)
        match = CFN_NAME.match(ref.rsplit("/", 1)[-1])
        assert match, ref
        assert (match["stack"], match["logical"]) == (stack.stack.name, logical_id)
    suffixes = {CFN_NAME.match(stack.ref(q).rsplit("/", 1)[-1])["suffix"] for q in template.queues}  # type: ignore[index]
    assert len(suffixes) == len(template.queues)  # random, not derived from the name
    # the bucket keeps its explicit name; the alias points at the key's id
    assert stack.ref("RecordingsBucket") == f"{stack.stack.name}-recordings-{ACCOUNT_ID}"
    aliases = client("kms").list_aliases(KeyId=stack.ref("SigningKey"))["Aliases"]
    assert [a["AliasName"] for a in aliases] == [stack.ref("SigningKeyAlias")]
    assert aliases[0]["TargetKeyId"] == stack.ref("SigningKey")
    # the HTTP API: a 10-character id, as API Gateway makes them
    assert re.fullmatch(r"[a-z0-9]{10}", stack.ref("HttpApi"))


def test_generated_names_are_shortened_to_the_service_limit() -> None:
    name = physical_name("s" * 70, "VeryLongLogicalIdentifierQueue", limit=80)
    assert len(name) == 80
    assert re.fullmatch(r"s+-VeryLong[A-Za-z]*-[A-Z0-9]{13}", name)
