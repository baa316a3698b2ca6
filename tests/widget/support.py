"""Helpers for the widget tests: launch Debian's Chromium, make tenants and sessions, wait, screenshot."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "widget"
# Quiet, offline, no first-run UI; fake camera (a moving test card) and microphone (a beep).
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ALLOW_MEDIA = "--use-fake-ui-for-media-stream"  # answers every camera/microphone prompt with "allow"
DENY_MEDIA = "--use-fake-ui-for-media-stream=deny"  # … with "deny"


def launch(playwright: Playwright, *, media: str = ALLOW_MEDIA, fake_audio: Path | None = None) -> Browser:
    """Launch /usr/bin/chromium (installed by `make setup`; Playwright never downloads a browser).

    ``fake_audio``: a 16-bit PCM WAV the fake microphone plays once (then silence). Chromium takes one
    such file per browser process, not per page: a two-party call needs two processes.
    """
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (make setup does)"
    args = [*CHROMIUM_ARGS, media]
    if fake_audio is not None:
        args.append(f"--use-file-for-fake-audio-capture={fake_audio}%noloop")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


@dataclass(frozen=True)
class Tenant:
    """A tenant on the local stack and an HTTP client authenticated with its API key."""

    stack: LocalStack
    tenant_id: str
    http: httpx.Client

    def create_session(self, **body: Any) -> dict[str, Any]:
        """``POST /v1/sessions`` for a host and a client; returns the 201 body (with widget URLs)."""
        payload = {"host": {"name": "Ada Lovelace"}, "client": {"name": "Grace Hopper"}, **body}
        response = self.http.post("/v1/sessions", json=payload)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def new_tenant(stack: LocalStack) -> Tenant:
    """Create a tenant with an API key on ``stack``."""
    tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("Widget tests")
    http = httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=10
    )
    return Tenant(stack=stack, tenant_id=tenant.tenant_id, http=http)


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.25,
    what: str | Callable[[], str] = "",
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds.

    ``what`` describes the awaited condition in the failure message (a callable is asked at that time).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what() if callable(what) else what}")
        time.sleep(interval)


def screenshot(page: Page, name: str) -> None:
    """Save the widget as docs/widget/<name>.png (shown in the README and docs/WIDGET.md)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("main").screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")
