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
import importlib.util
import json
import logging
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentflow.aws.clients import client
from agentflow.local.provision import Stack
from agentflow.local.template import FunctionSpec, Template, load_template

log = logging.getLogger("agentflow.local")

DUPLICATE_ATTRIBUTE = "agentflow-local-duplicate"
STACK_ENV = "AGENTFLOW_LOCAL_STACK"  # the provisioned stack's names, for a worker process
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(path: Path) -> Handler:
    """Import a function's ``handler.py`` by path (as Lambda does) and return its ``lambda_handler``.

    Each call makes a fresh module, like a fresh Lambda container: module-level state (a batch
    processor, say) is never shared between two pollers.
    """
    module_name = f"agentflow_function_{path.parent.name}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler


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


class Poller(threading.Thread):
    """Polls one queue for one function until stopped."""

    def __init__(
        self,
        fn: FunctionSpec,
        handler: Handler,
        *,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        region: str,
        options: RunnerOptions,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"poll-{fn.name}-{queue_url.rsplit('-', 1)[-1]}", daemon=True)
        self.fn, self.handler = fn, handler
        self.queue_url, self.queue_arn = queue_url, queue_arn
        self.batch_size, self.region = min(batch_size, 10), region
        self.options, self._stop_event = options, stop
        self.invocations = 0

    def run(self) -> None:
        sqs = client("sqs")
        visibility = (
            {"VisibilityTimeout": self.options.visibility_seconds}
            if self.options.visibility_seconds is not None
            else {}
        )
        while not self._stop_event.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=self.options.wait_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                    **visibility,
                ).get("Messages", [])
            except (BotoCoreError, ClientError):
                # The endpoint going away at shutdown, or a transient fault: Lambda's poller keeps
                # polling too. Anything else is a bug and ends the thread loudly.
                if self._stop_event.is_set():
                    return
                log.exception("receive from %s failed", self.queue_url)
                time.sleep(0.5)
                continue
            if messages:
                if self.options.duplicate_delivery:
                    self._duplicate(sqs, messages)
                self._invoke(sqs, messages)

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
        context = LambdaContext(function_name=self.fn.name, timeout_seconds=self.fn.timeout)
        context.aws_request_id = str(uuid.uuid4())
        started = time.perf_counter()
        failed_ids: set[str]
        try:
            response = self.handler(event, context)
            failures = (response or {}).get("batchItemFailures", [])
            failed_ids = {f["itemIdentifier"] for f in failures}
            outcome = "ok" if not failed_ids else f"{len(failed_ids)} failed"
        except Exception as exc:  # a crashed invocation fails the whole batch, as in Lambda
            failed_ids = {m["MessageId"] for m in messages}
            outcome = f"error {exc.__class__.__name__}: {exc}"
        self.invocations += 1
        queue_name = self.queue_arn.rsplit(":", 1)[-1]
        log.info(
            "invoke %-10s %2d record(s) from %s in %.2fs: %s",
            self.fn.name,
            len(messages),
            queue_name,
            time.perf_counter() - started,
            outcome,
        )
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for chunk_start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[chunk_start : chunk_start + 10])
            ]
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        if self.options.retry_visibility_seconds is not None:
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
    """Start one poller per SQS event source of each function (or of the named ``functions``).

    ``handlers`` replaces a function's handler by name (tests inject failing handlers this way).
    """
    pollers: list[Poller] = []
    for fn in template.functions.values():
        if not fn.sources or (functions is not None and fn.name not in functions):
            continue
        for source in fn.sources:
            handler = (handlers or {}).get(fn.name) or load_handler(fn.handler_path)
            poller = Poller(
                fn,
                handler,
                queue_url=stack.refs[source.queue],
                queue_arn=stack.attrs[(source.queue, "Arn")],
                batch_size=source.batch_size,
                region=stack.region,
                options=options,
                stop=stop,
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(message)s")
    stack = stack_from_json(os.environ[STACK_ENV])
    options = RunnerOptions(
        retry_visibility_seconds=args.retry_visibility_seconds,
        duplicate_delivery=args.duplicate_delivery,
        visibility_seconds=args.visibility_seconds,
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
