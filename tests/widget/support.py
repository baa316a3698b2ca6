"""Helpers for the widget tests: launch Debian's Chromium, make tenants and sessions, wait, screenshot."""

from __future__ import annotations

import math
import shutil
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from agentflow.aws.clients import table
from agentflow.local.stack import LocalStack
from agentflow.services.tenants import create_tenant_service
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

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
VOICE_SECONDS = 60  # longer than a call test; %noloop then plays silence
CALL_STATS = "() => window.AgentFlowWidget.call.stats()"
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


def voice(source: Path, channel: int, out: Path, seconds: float = VOICE_SECONDS) -> Path:
    """One channel of ``source``, looped to ``seconds``, as a mono 16-bit PCM WAV (Chromium's format)."""
    with wave.open(str(source)) as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        assert wav.getsampwidth() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, channels)
    mono = frames[:, channel]
    needed = int(seconds * rate)
    looped = np.tile(mono, math.ceil(needed / len(mono)))[:needed]
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(looped.astype("<i2").tobytes())
    return out


def stats(page: Page) -> dict[str, Any]:
    """The page's call stats (``window.AgentFlowWidget.call.stats()``: getStats() summed by kind)."""
    value: dict[str, Any] = page.evaluate(CALL_STATS)
    return value


def growth(page: Page, key: str, seconds: float = 2.0) -> float:
    """How much ``key`` of the page's call stats grows in ``seconds``."""
    before = stats(page)[key]
    time.sleep(seconds)
    return float(stats(page)[key] - before)


def console_logger(role: str, logs: list[str]) -> Callable[[ConsoleMessage], None]:
    """Keep a page's console lines (printed when a call test fails)."""
    return lambda message: logs.append(f"{role} {message.type}: {message.text}")
