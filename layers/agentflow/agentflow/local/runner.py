"""Event-source pollers: the part of Lambda that moto does not emulate.

One thread per (function, queue) receives messages, builds the real Lambda SQS event, calls the
function's ``lambda_handler`` with a Lambda context, deletes what succeeded and leaves what failed
(``batchItemFailures``) to SQS, which redelivers it after the visibility timeout and moves it to
the DLQ after ``maxReceiveCount`` receives.

``python -m agentflow.local.runner`` runs only the pollers, in a process of their own, against a
stack another process started (``LocalStack.worker_environment()`` says where it is): a worker that
a test can kill with SIGKILL mid-stage while the local AWS lives on.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from agentflow.aws.clients import client
from agentflow.local.provision import Stack
from agentflow.local.sandbox import Handler as Handler  # re-exported (stack, gateway, CLI, tests)
from agentflow.local.sandbox import InvocationFailed, ProcessSandbox, ThreadSandbox
from agentflow.local.sandbox import LambdaContext as LambdaContext  # re-exported
from agentflow.local.sandbox import load_handler as load_handler  # re-exported
from agentflow.local.template import FunctionSpec, Template, load_template

log = logging.getLogger("agentflow.local")

DUPLICATE_ATTRIBUTE = "agentflow-local-duplicate"
STACK_ENV = "AGENTFLOW_LOCAL_STACK"  # the provisioned stack's names, for a worker process


def sqs_event(messages: list[dict[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """Build the event Lambda's SQS event source passes to a function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v["DataType"],
                    }
                    for k, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


@dataclass(frozen=True)
class RunnerOptions:
    """Knobs of the local event sources (none of them changes what the handlers do)."""

    retry_visibility_seconds: int | None = 1  # None: wait the queue's own visibility timeout
    duplicate_delivery: bool = False  # deliver every message twice, in shuffled order
    wait_seconds: int = 1  # long-poll wait of each receive
    # Receive-time visibility timeout (None: the queue's own). The template's are sized for Lambda
    # (6 x the function timeout); a crashed worker's message comes back after this many seconds.
    visibility_seconds: int | None = None
    # "thread": invocations run in threads of this process (fast; tests can inject handlers and
    # patch modules); Timeout is enforced, MemorySize only reported. "process": each function runs
    # in a sandbox process of its own, as a Lambda execution environment, killed on Timeout or on
    # passing MemorySize (its peak RSS, VmHWM, polled every 20 ms), then started afresh.
    isolation: Literal["thread", "process"] = "thread"
    # Invocations at once per event source: Lambda's SQS event source runs up to five batches at
    # once from the start and scales out from there, each in an execution environment of its own.
    # Here each is a poller with a sandbox of its own, so more than one needs "process" isolation
    # (threads of one process share its models). 1 keeps a function to one invocation at a time;
    # on two cores 2 only splits them (10 min recording: 192.9 s against 176.0 s, benchmarks/e2e.py).
    concurrency: int = 1

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.concurrency > 1 and self.isolation != "process":
            raise ValueError(
                "concurrency above 1 needs process isolation: threads share one process's models"
            )


class Poller(threading.Thread):
    """Polls one queue for one function until stopped, as Lambda's SQS event source mapping does.

    A batch is what one receive returns, or, with a batching window, what receives gather until
    ``batch_size`` messages or the window's end. Each invocation is held to the function's Timeout
    (and, in a process sandbox, to its MemorySize); one that ends without a response fails its
    whole batch, whose messages come back after their visibility timeout, as in Lambda.
    """

    def __init__(
        self,
        fn: FunctionSpec,
        handler: Handler | None,
        *,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        region: str,
        options: RunnerOptions,
        stop: threading.Event,
        batching_window: int = 0,
        source: str = "",
    ) -> None:
        super().__init__(name=f"poll-{fn.name}-{source or queue_arn.rsplit(':', 1)[-1]}", daemon=True)
        self.fn = fn
        self.queue_url, self.queue_arn = queue_url, queue_arn
        self.batch_size, self.batching_window, self.region = batch_size, batching_window, region
        self.options, self._stop_event = options, stop
        self.invocations = 0
        self.outcomes: deque[str] = deque(maxlen=100)  # the latest invocations' outcomes, for tests
        self.sandbox: ThreadSandbox | ProcessSandbox
        if options.isolation == "process" and handler is None:
            self.sandbox = ProcessSandbox(fn)
        else:  # an injected handler is a Python object: it can only run here
            self.sandbox = ThreadSandbox(fn, handler)

    def run(self) -> None:
        sqs = client("sqs")
        try:
            while not self._stop_event.is_set():
                messages = self._receive_batch(sqs)
                if messages:
                    if self.options.duplicate_delivery:
                        self._duplicate(sqs, messages)
                    self._invoke(sqs, messages)
        finally:
            self.sandbox.close()

    def _receive(self, sqs: Any, *, wait: int, most: int) -> list[dict[str, Any]] | None:
        """One receive; ``None`` when the stack is stopping."""
        visibility = (
            {"VisibilityTimeout": self.options.visibility_seconds}
            if self.options.visibility_seconds is not None
            else {}
        )
        try:
            found: list[dict[str, Any]] = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=most,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                **visibility,
            ).get("Messages", [])
        except (BotoCoreError, ClientError):
            # The endpoint going away at shutdown, or a transient fault: Lambda's poller keeps
            # polling too. Anything else is a bug and ends the thread loudly.
            if self._stop_event.is_set():
                return None
            log.exception("receive from %s failed", self.queue_url)
            time.sleep(0.5)
            return []
        return found

    def _receive_batch(self, sqs: Any) -> list[dict[str, Any]]:
        """Up to ``batch_size`` messages: one receive, or receives until the batching window ends."""
        first = self._receive(sqs, wait=self.options.wait_seconds, most=min(self.batch_size, 10))
        if not first:
            return []
        batch = first
        window_ends = time.monotonic() + self.batching_window
        while len(batch) < self.batch_size and not self._stop_event.is_set():
            left = window_ends - time.monotonic()
            if left <= 0:
                break
            more = self._receive(sqs, wait=min(int(left), 20), most=min(self.batch_size - len(batch), 10))
            if more is None:
                break
            batch.extend(more)
            if not more and left < 1:
                time.sleep(left)
        return batch

    def _duplicate(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        """Send each first-time message back once more, so SQS delivers it twice in some order."""
        for m in messages:
            if DUPLICATE_ATTRIBUTE in m.get("MessageAttributes", {}):
                continue
            sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=m["Body"],
                DelaySeconds=random.randint(0, 1),
                MessageAttributes={DUPLICATE_ATTRIBUTE: {"DataType": "String", "StringValue": "1"}},
            )
        random.shuffle(messages)

    def _invoke(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self.region)
        context = LambdaContext(
            function_name=self.fn.name,
            timeout_seconds=self.fn.timeout,
            memory_limit_in_mb=self.fn.memory_size,
            aws_request_id=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        failed_ids: set[str]
        memory = ""
        ended = False  # no response: the batch's messages wait out their visibility timeout
        try:
            response, report = self.sandbox.invoke(event, context, self._stop_event)
            if report.max_memory_mb is not None:
                memory = f", max memory {report.max_memory_mb:.0f}/{self.fn.memory_size} MB"
            failures = (response or {}).get("batchItemFailures", [])
            failed_ids = {f["itemIdentifier"] for f in failures}
            outcome = "ok" if not failed_ids else f"{len(failed_ids)} failed"
        except InvocationFailed as exc:
            failed_ids, ended = {m["MessageId"] for m in messages}, True
            outcome = f"error {exc}"
        except Exception as exc:  # a crashed invocation fails the whole batch, as in Lambda
            failed_ids = {m["MessageId"] for m in messages}
            outcome = f"error {exc.__class__.__name__}: {exc}"
        self.invocations += 1
        self.outcomes.append(outcome)
        queue_name = self.queue_arn.rsplit(":", 1)[-1]
        log.info(
            "invoke %-10s %2d record(s) from %s in %.2fs%s: %s",
            self.fn.name,
            len(messages),
            queue_name,
            time.perf_counter() - started,
            memory,
            outcome,
        )
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for chunk_start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[chunk_start : chunk_start + 10])
            ]
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        if self.options.retry_visibility_seconds is not None and not ended:
            for m in messages:
                if m["MessageId"] in failed_ids:
                    sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=self.options.retry_visibility_seconds,
                    )


def start_pollers(
    template: Template,
    stack: Stack,
    *,
    options: RunnerOptions,
    stop: threading.Event,
    functions: set[str] | None = None,
    handlers: dict[str, Handler] | None = None,
) -> list[Poller]:
    """Start ``options.concurrency`` pollers per SQS event source of each function (or of ``functions``).

    ``handlers`` replaces a function's handler by name (tests inject failing handlers this way); an
    injected handler runs in this process, so its function gets one poller per source.
    """
    pollers: list[Poller] = []
    for fn in template.functions.values():
        if not fn.sources or (functions is not None and fn.name not in functions):
            continue
        handler = (handlers or {}).get(fn.name)
        for source in fn.sources:
            for _ in range(1 if handler is not None else options.concurrency):
                poller = Poller(
                    fn,
                    handler,
                    queue_url=stack.refs[source.queue],
                    queue_arn=stack.attrs[(source.queue, "Arn")],
                    batch_size=source.batch_size,
                    batching_window=source.max_batching_window,
                    region=stack.region,
                    options=options,
                    stop=stop,
                    source=source.queue,
                )
                poller.start()
                pollers.append(poller)
    return pollers


def stack_to_json(stack: Stack) -> str:
    """The names a worker process needs to poll ``stack``'s queues (``STACK_ENV``'s value)."""
    return json.dumps(
        {
            "name": stack.name,
            "region": stack.region,
            "parameters": stack.parameters,
            "refs": stack.refs,
            "attrs": [[logical_id, attr, value] for (logical_id, attr), value in stack.attrs.items()],
            "conditions": stack.conditions,
        }
    )


def stack_from_json(text: str) -> Stack:
    """The inverse of :func:`stack_to_json`."""
    data = json.loads(text)
    return Stack(
        name=data["name"],
        region=data["region"],
        parameters=data["parameters"],
        refs=data["refs"],
        attrs={(logical_id, attr): value for logical_id, attr, value in data["attrs"]},
        conditions=data.get("conditions", {}),
    )


def run_worker(argv: Sequence[str] | None = None) -> int:
    """Poll an existing stack's queues until SIGTERM or SIGINT (``python -m agentflow.local.runner``).

    The environment must hold the stack's (``LocalStack.worker_environment()``): the AWS endpoint,
    the functions' variables and ``STACK_ENV``.
    """
    parser = argparse.ArgumentParser(prog="python -m agentflow.local.runner", description=run_worker.__doc__)
    parser.add_argument("--functions", default="", help="comma-separated function names (default: all)")
    parser.add_argument("--visibility-seconds", type=int, default=None, help="receive-time visibility")
    parser.add_argument("--retry-visibility-seconds", type=int, default=1)
    parser.add_argument("--duplicate-delivery", action="store_true")
    parser.add_argument(
        "--isolation", choices=["thread", "process"], default="thread", help="see RunnerOptions.isolation"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="see RunnerOptions.concurrency")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(message)s")
    stack = stack_from_json(os.environ[STACK_ENV])
    options = RunnerOptions(
        retry_visibility_seconds=args.retry_visibility_seconds,
        duplicate_delivery=args.duplicate_delivery,
        visibility_seconds=args.visibility_seconds,
        isolation=args.isolation,
        concurrency=args.concurrency,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    functions = {f for f in args.functions.split(",") if f} or None
    pollers = start_pollers(load_template(), stack, options=options, stop=stop, functions=functions)
    log.info("worker polling %d queue(s) for %s", len(pollers), ", ".join(sorted(functions or {"all"})))
    while not stop.wait(0.5):
        pass
    for poller in pollers:
        poller.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_worker())
