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
import ctypes
import importlib.util
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from agentflow.aws.clients import client
from agentflow.local.provision import Stack
from agentflow.local.template import FunctionSpec, Template, load_template

log = logging.getLogger("agentflow.local")

DUPLICATE_ATTRIBUTE = "agentflow-local-duplicate"
STACK_ENV = "AGENTFLOW_LOCAL_STACK"  # the provisioned stack's names, for a worker process
SANDBOX_FD_ENV = "AGENTFLOW_SANDBOX_FD"  # a sandbox process's socket to its poller
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


class InvocationTimeout(BaseException):
    """Raised inside a thread-mode invocation whose function's Timeout has passed.

    A ``BaseException``, so that neither a stage's ``except Exception`` nor Powertools' batch
    processor turns the stop into a recorded failure and carries on.
    """


class InvocationFailed(RuntimeError):
    """An invocation ended as Lambda ends it without a response: timed out, out of memory, crashed."""


@dataclass
class Report:
    """What Lambda's ``REPORT`` line says of one invocation."""

    duration_seconds: float
    max_memory_mb: float | None  # None where it cannot be told apart (thread mode)


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    """Ask ``thread`` to raise ``exc_type`` at its next bytecode (a C call in progress finishes first)."""
    if thread.ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))


class ThreadSandbox:
    """Runs one function's invocations in threads of this process, each held to the Timeout.

    A thread cannot be killed: at the Timeout the invocation is abandoned (its result is ignored)
    and asked to stop with :class:`InvocationTimeout`, and the next invocation gets a freshly
    loaded handler module, as Lambda gives it a fresh execution environment.
    """

    def __init__(self, fn: FunctionSpec, handler: Handler | None) -> None:
        self.fn = fn
        self._injected = handler is not None
        self.handler: Handler = handler or load_handler(fn.handler_path)

    def invoke(
        self, event: dict[str, Any], context: LambdaContext, stop: threading.Event
    ) -> tuple[Any, Report]:
        """Call the handler; raise :class:`InvocationFailed` when it times out."""
        result: dict[str, Any] = {}

        def target() -> None:
            try:
                result["response"] = self.handler(event, context)
            except InvocationTimeout:
                log.warning("invocation of %s stopped at its Timeout", self.fn.name)
            except BaseException as exc:  # handed to the poller, which fails the batch with it
                result["error"] = exc

        started = time.perf_counter()
        thread = threading.Thread(target=target, name=f"invoke-{self.fn.name}", daemon=True)
        thread.start()
        deadline = time.monotonic() + self.fn.timeout
        while thread.is_alive() and time.monotonic() < deadline and not stop.is_set():
            thread.join(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
        report = Report(time.perf_counter() - started, None)
        if thread.is_alive():
            _raise_in_thread(thread, InvocationTimeout)
            if not self._injected:
                self.handler = load_handler(self.fn.handler_path)
            if stop.is_set():
                raise InvocationFailed("the local stack stopped during the invocation")
            raise InvocationFailed(f"Task timed out after {self.fn.timeout:.2f} seconds")
        if "error" in result:
            raise result["error"]
        return result.get("response"), report

    def close(self) -> None:
        """Nothing to release: threads end with the process."""


class ProcessSandbox:
    """Runs one function's invocations in a process of its own: a Lambda execution environment.

    Warm across invocations (the handler module and its models load once); killed with SIGKILL on
    passing the function's Timeout or MemorySize, and started afresh (a cold start) for the next.
    """

    POLL_SECONDS = 0.02
    # Lambda gives a cold start's init (importing the handler) 10 s of its own, outside the
    # Timeout; here 30 s, as imports on 2 cores shared with a test run were seen to take over 10 s.
    INIT_SECONDS = 30.0

    def __init__(self, fn: FunctionSpec) -> None:
        self.fn = fn
        self._process: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        # A new interpreter (never a fork of a process that runs threads), talking over a socket
        # pair; it inherits this process's environment, as the functions' variables are set there.
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "agentflow.local.runner", "--sandbox", str(self.fn.handler_path)],
            pass_fds=[theirs.fileno()],
            env={**os.environ, SANDBOX_FD_ENV: str(theirs.fileno())},
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        if not self._conn.poll(self.INIT_SECONDS):
            self._kill()
            raise InvocationFailed(f"Init timed out after {self.INIT_SECONDS:.0f} seconds")
        try:
            self._conn.recv()  # "ready": the handler module is loaded
        except EOFError as exc:
            self._kill()
            raise InvocationFailed("Runtime exited during init") from exc

    def invoke(
        self, event: dict[str, Any], context: LambdaContext, stop: threading.Event
    ) -> tuple[Any, Report]:
        """Send one event to the sandbox and wait for its answer, the Timeout and the memory limit."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        started = time.perf_counter()
        limit_kb = self.fn.memory_size * 1024
        self._conn.send((event, context.aws_request_id, self.fn.timeout, self.fn.memory_size))
        deadline = time.monotonic() + self.fn.timeout
        peak_kb = 0
        while True:
            answered = self._conn.poll(self.POLL_SECONDS)
            peak_kb = max(peak_kb, peak_rss_kb(self._process.pid))
            report = Report(time.perf_counter() - started, peak_kb / 1024)
            if peak_kb > limit_kb:
                self._kill()
                raise InvocationFailed(
                    f"Runtime exited with error: signal: killed (Max Memory Used {peak_kb // 1024} MB "
                    f"over MemorySize {self.fn.memory_size} MB)"
                )
            if answered:
                break
            if self._process.poll() is not None:
                code = self._process.returncode
                self._kill()
                raise InvocationFailed(f"Runtime exited with error: exit code {code}")
            if time.monotonic() > deadline or stop.is_set():
                self._kill()
                raise InvocationFailed(f"Task timed out after {self.fn.timeout:.2f} seconds")
        try:
            status, payload = self._conn.recv()
        except EOFError as exc:
            self._kill()
            raise InvocationFailed("Runtime exited without a response") from exc
        if status == "error":
            raise InvocationFailed(payload)
        return payload, report

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Stop the sandbox process."""
        self._kill()


def peak_rss_kb(pid: int) -> int:
    """A process's peak resident set size in KiB (``VmHWM``; 0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def _sandbox_main(handler_path: str) -> int:
    """The sandbox process: load the handler once, then answer invocations until the socket closes."""
    conn = Connection(int(os.environ.pop(SANDBOX_FD_ENV)))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the poller, as a sandbox would
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(process)d %(message)s")
    handler = load_handler(Path(handler_path))
    name = Path(handler_path).parent.name
    conn.send(("ready", None))
    while True:
        try:
            event, request_id, timeout, memory = conn.recv()
        except EOFError:
            return 0
        context = LambdaContext(
            function_name=name, timeout_seconds=timeout, memory_limit_in_mb=memory, aws_request_id=request_id
        )
        try:
            conn.send(("ok", handler(event, context)))
        except Exception as exc:  # the poller fails the batch with this, as Lambda reports it
            log.exception("invocation failed")
            conn.send(("error", f"{exc.__class__.__name__}: {exc}"))


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
    parser.add_argument("--sandbox", metavar="HANDLER", help=argparse.SUPPRESS)  # one function's sandbox
    parser.add_argument(
        "--isolation", choices=["thread", "process"], default="thread", help="see RunnerOptions.isolation"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="see RunnerOptions.concurrency")
    args = parser.parse_args(argv)
    if args.sandbox:
        return _sandbox_main(args.sandbox)
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
