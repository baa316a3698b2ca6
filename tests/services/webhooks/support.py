"""Helpers for the webhook tests: a real HTTP receiver on 127.0.0.1 and a tenant on the local stack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
from agentflow.aws.clients import client, table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import NewTenant, create_tenant_service
from agentflow.services.webhooks import emit_event

# Short waits so retries happen within a test: two retries, one second apart, no jitter; a
# one-second POST timeout so a slow receiver times out quickly.
STACK_ENVIRONMENT = {
    "WEBHOOK_RETRY_SCHEDULE_SECONDS": "[1, 1]",
    "WEBHOOK_RETRY_JITTER": "0",
    "WEBHOOK_TIMEOUT_SECONDS": "1",
}


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that answers from a plan and records every request.

    ``plan`` holds what to answer, one entry per request: a status code, or ``("sleep", s)`` to
    wait ``s`` seconds and then answer 200. When the plan is used up it answers 200.
    """

    plan: list[int | tuple[str, float]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        """The URL of ``path`` on this receiver."""
        return f"http://{host}:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until ``count`` requests arrived (bounded); return them."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.requests)


def handler_class(receiver: Receiver, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                )
                step = receiver.plan.pop(0) if receiver.plan else 200
            code = 200
            if isinstance(step, tuple):
                time.sleep(step[1])
            else:
                code = step
            try:
                self.send_response(code)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answer {code}".encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender timed out and hung up, which is what a slow step tests

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@dataclass
class World:
    """A tenant on the running stack, with helpers to make sessions and events."""

    stack: LocalStack
    tenant: NewTenant

    @property
    def table(self) -> Any:
        return table(self.stack.ref("Table"))

    @property
    def sqs(self) -> Any:
        return client("sqs")

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tenant.api_key}"}

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.stack.api_url + path, headers=self.auth, timeout=10, **kwargs)

    def new_tenant(self, name: str) -> World:
        """Another tenant on the same stack."""
        return World(self.stack, create_tenant_service(self.table).create_tenant(name))

    def session(self, webhook_url: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"host": {"name": "Host"}, "client": {"name": "Client"}}
        if webhook_url:
            body["webhook_url"] = webhook_url
        response = self.api("POST", "/v1/sessions", json=body)
        assert response.status_code == 201, response.text
        session: dict[str, Any] = response.json()
        return {**session, "tenant_id": self.tenant.tenant_id}

    def emit(
        self, session: dict[str, Any], *, key: str = "rec_1:summary.ready", queue: str = "WebhooksQueue"
    ) -> str:
        return emit_event(
            self.table,
            self.sqs,
            queue_url=self.stack.ref(queue),
            tenant_id=self.tenant.tenant_id,
            session=session,
            event_type="summary.ready",
            data={"recording_id": "rec_1", "summary_id": "sum_1", "signature_id": "sig_1", "score": 0.5},
            event_key=key,
        )

    def deliveries(self, session_id: str) -> list[dict[str, Any]]:
        response = self.api("GET", "/v1/webhook-deliveries", params={"session_id": session_id})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def wait_delivery(
        self, session_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll the delivery log (bounded) until its only delivery satisfies ``until``."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = self.deliveries(session_id)
            if len(last) == 1 and until(last[0]):
                return last[0]
            time.sleep(0.1)
        raise AssertionError(f"delivery did not reach the expected state: {json.dumps(last)[:2000]}")


def final(delivery: dict[str, Any]) -> bool:
    """True once a delivery has finished (delivered or failed)."""
    return delivery["status"] in ("DELIVERED", "FAILED")
