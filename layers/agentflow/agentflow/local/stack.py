"""The local stack: moto server (or a given endpoint), the template's resources, the API, the pollers.

``LocalStack`` is what ``agentflow up``, ``agentflow demo`` and the tests start; it is the only
place that knows how the pieces are wired together on one machine.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from agentflow.aws import clients
from agentflow.local.gateway import GatewayLimits, WebSocketGateway, new_api_id, websocket_apis
from agentflow.local.ports import free_port as free_port  # re-exported: benchmarks use it
from agentflow.local.provision import Stack, provision
from agentflow.local.runner import STACK_ENV, Handler, Poller, RunnerOptions, stack_to_json, start_pollers
from agentflow.local.template import Template, load_template
from agentflow.settings import get_settings

log = logging.getLogger("agentflow.local")

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def _reset_warm_caches() -> None:
    """Forget what warm containers keep (clients, the signaling service): a later stack in this
    process must not reach an earlier one's moto or WebSocket gateway."""
    clients.reset()
    edge = sys.modules.get("agentflow.signaling.edge")  # imported only once a call was signaled
    if edge is not None:
        edge.service.cache_clear()


def _cpu_shares() -> dict[str, str]:
    """Whisper's threads when none are set: the CPUs diarization leaves.

    In AWS each function has its own vCPUs; here transcribe and diarize run at once on one machine's,
    and CTranslate2 with a thread per CPU beside diarization's torch thread oversubscribes them. On
    the 2-core VM (benchmarks/e2e.py, 10 minutes, 2026-12-02): upload to summary 70.8 s with two
    whisper threads, 54.9 s with one, where the plain script takes 54.2 s on both CPUs.
    """
    if os.environ.get("WHISPER_THREADS"):
        return {}
    spare = len(os.sched_getaffinity(0)) - get_settings().diarize_threads
    return {"WHISPER_THREADS": str(max(1, spare))}


@dataclass
class LocalStack:
    """Start with ``with LocalStack() as stack:``; everything stops on exit.

    Args:
        api: serve the FastAPI app with uvicorn on 127.0.0.1.
        pollers: run the event-source pollers (``False`` to drive handlers by hand in tests).
        functions: only poll for these function names (default: all).
        handlers: replace a function's handler (tests inject failures this way).
        options: local event-source knobs (retry wait, duplicate delivery).
        environment: extra variables for the functions (e.g. ``MAX_UPLOAD_BYTES``).
        gateway_limits: the local WebSocket API's limits (tests shorten its timeouts).
        parameters: template parameters over the local ones (``{"PublicApiUrl": ""}`` makes the
            stages fall back to the HttpApi's own URL, as a stack deployed without one does).
    """

    api: bool = True
    pollers: bool = True
    functions: set[str] | None = None
    handlers: dict[str, Handler] = field(default_factory=dict)
    options: RunnerOptions = field(default_factory=RunnerOptions)
    environment: dict[str, str] = field(default_factory=dict)
    gateway_limits: GatewayLimits = field(default_factory=GatewayLimits)
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"

    endpoint_url: str = ""
    api_url: str = ""
    signaling_url: str = ""
    gateway: WebSocketGateway | None = None
    stack: Stack | None = None
    template: Template | None = None
    running_pollers: list[Poller] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._moto: Any = None
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}

    # -------------------------------------------------------------- lifecycle
    def start(self) -> LocalStack:
        """Start moto (unless ``AWS_ENDPOINT_URL`` names another endpoint), provision, serve, poll."""
        started = time.perf_counter()
        external = os.environ.get("AWS_ENDPOINT_URL", "")
        if external:  # a LocalStack (or another emulator) the user runs
            self.endpoint_url = external
        else:
            self._start_moto()
        api_port = free_port() if self.api else 0
        self.api_url = f"http://127.0.0.1:{api_port}" if self.api else ""
        self._set_env(
            {
                **LOCAL_CREDENTIALS,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
            }
        )
        _reset_warm_caches()
        self.template = load_template()
        self.stack = provision(
            self.template,
            stack_name=f"agentflow-{uuid.uuid4().hex[:8]}",
            region=self.region,
            parameters={"Stage": "local", "PublicApiUrl": self.api_url, **self.parameters},
        )
        # WebSocket APIs: the template's environment names them (SIGNALING_URL), so their ids
        # are known before it is resolved; the local gateway serves them beside the API.
        ws_specs = websocket_apis(self.template)
        for spec in ws_specs:
            self.stack.refs[spec.logical_id] = new_api_id()
        gateway_env: dict[str, str] = {}
        if self.api and ws_specs:
            spec = ws_specs[0]
            self.gateway = WebSocketGateway(
                spec,
                stage=str(self.stack.resolve(spec.stage)),
                api_id=self.stack.refs[spec.logical_id],
                port=free_port(),
                limits=self.gateway_limits,
                handlers=self.handlers,
                record_events=True,
            )
            self.signaling_url = self.gateway.url
            gateway_env = {
                "SIGNALING_URL": self.gateway.url,
                "SIGNALING_MANAGEMENT_URL": self.gateway.management_url,
            }
        self._set_env(
            {
                **self.stack.environment(self.template),
                **gateway_env,
                "LOCAL_MODE": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "agentflow-local",
                **_cpu_shares(),
                **self.environment,
            }
        )
        get_settings.cache_clear()
        if self.api:
            self._start_api(api_port)
            if self.gateway is not None:
                self.gateway.start()
        if self.pollers:
            self.running_pollers = start_pollers(
                self.template,
                self.stack,
                options=self.options,
                stop=self._stop,
                functions=self.functions,
                handlers=self.handlers,
            )
        log.info("local stack up in %.2fs (AWS at %s)", time.perf_counter() - started, self.endpoint_url)
        return self

    def stop(self) -> None:
        """Stop pollers, the API and moto; restore the environment."""
        self._stop.set()
        for poller in self.running_pollers:
            poller.join(timeout=10)
        if self.gateway is not None:
            self.gateway.stop()
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(timeout=10)
        if self._moto is not None:
            self._moto.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reset_warm_caches()
        get_settings.cache_clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -------------------------------------------------------------- helpers
    def ref(self, logical_id: str) -> str:
        """The physical name (Ref) of a template resource: queue URL, table or bucket name, …"""
        assert self.stack is not None
        return self.stack.refs[logical_id]

    def worker_environment(self) -> dict[str, str]:
        """What a worker process (``python -m agentflow.local.runner``) needs to poll this stack.

        The AWS endpoint and moto's dummy credentials, the functions' variables, and the stack's
        names; no secrets. Merge it over ``os.environ`` for the subprocess.
        """
        assert self.stack is not None and self.template is not None
        names = [
            *self.stack.environment(self.template),
            *LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "LOCAL_MODE",
            "POWERTOOLS_TRACE_DISABLED",
            "POWERTOOLS_METRICS_NAMESPACE",
            "WHISPER_THREADS",
            *self.environment,
        ]
        return {k: os.environ[k] for k in names} | {STACK_ENV: stack_to_json(self.stack)}

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        port = free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._moto.start()
        self.endpoint_url = f"http://127.0.0.1:{port}"

    def _start_api(self, port: int) -> None:
        import uvicorn

        from agentflow.api.app import create_app

        config = uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(target=self._server.run, name="api", daemon=True)
        self._server_thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start within 10 s")
            time.sleep(0.02)
