"""Sandboxes: where a local function runs, as Lambda runs it in an execution environment.

A poller (``local/runner.py``) hands each invocation to its function's sandbox. ``ThreadSandbox``
runs it in a thread of this process, held to the function's Timeout; ``ProcessSandbox`` runs it in
a process of its own (``python -m agentflow.local.sandbox HANDLER``, the process side below), killed
on passing the Timeout or the MemorySize and started afresh, as Lambda does. ``load_handler`` and
``LambdaContext`` are how every local edge (pollers, API, WebSocket gateway) calls a handler.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

from agentflow.local.template import FunctionSpec

log = logging.getLogger("agentflow.local")

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
            [sys.executable, "-m", "agentflow.local.sandbox", str(self.fn.handler_path)],
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


def sandbox_main(handler_path: str) -> int:
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


if __name__ == "__main__":
    # Started by ProcessSandbox only: its argument is the function's handler.py.
    raise SystemExit(sandbox_main(sys.argv[1]))
