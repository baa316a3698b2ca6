"""The call: two Chromium processes meet in a real session on the local stack (issue 15).

Each browser is its own process because Chromium's fake microphone plays one file per process:
the host's plays the left channel of tests/data/stereo_diarization.wav, the client's the right.
The signaling is the real one: the local WebSocket gateway started by ``LocalStack`` calls the
signaling handler with API Gateway's events. On loopback, host candidates connect without STUN/TURN.
"""

from __future__ import annotations

import math
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentflow.local.stack import LocalStack
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect

from .support import launch, new_tenant, screenshot, wait_until

VOICE_SECONDS = 60  # longer than the test; %noloop then plays silence
CONNECT_MS = 30_000  # both pages to `connected` (about 1 s on loopback; generous on a busy machine)
STATS = "() => window.AgentFlowWidget.call.stats()"


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
    value: dict[str, Any] = page.evaluate(STATS)
    return value


def growth(page: Page, key: str, seconds: float = 2.0) -> float:
    """How much ``key`` of the page's call stats grows in ``seconds``."""
    before = stats(page)[key]
    time.sleep(seconds)
    return float(stats(page)[key] - before)


def remote_video_plays(page: Page) -> Callable[[], bool]:
    video = page.locator("[data-tile=remote] video")
    return lambda: bool(video.evaluate("v => v.videoWidth > 0 && !v.paused && v.readyState >= 2"))


def sound_arrives(page: Page) -> Callable[[], bool]:
    return lambda: bool(stats(page)["inboundAudioEnergy"] > 0)


def console_logger(role: str, logs: list[str]) -> Callable[[ConsoleMessage], None]:
    return lambda message: logs.append(f"{role} {message.type}: {message.text}")


@pytest.fixture
def browsers(playwright: Playwright, data_dir: Path, tmp_path: Path) -> Iterator[tuple[Browser, Browser]]:
    source = data_dir / "stereo_diarization.wav"
    host = launch(playwright, fake_audio=voice(source, 0, tmp_path / "host.wav"))
    try:
        client = launch(playwright, fake_audio=voice(source, 1, tmp_path / "client.wav"))
        try:
            yield host, client
        finally:
            client.close()
    finally:
        host.close()


@pytest.mark.browser
@pytest.mark.slow
def test_host_and_client_meet_mute_reload_and_end(browsers: tuple[Browser, Browser]) -> None:
    with LocalStack(pollers=False) as stack:
        tenant = new_tenant(stack)
        created = tenant.create_session()
        session_id = created["session_id"]
        urls = created["widget_urls"]
        pages: dict[str, Page] = {}
        logs: list[str] = []
        for role, browser in zip(("host", "client"), browsers, strict=True):
            page = browser.new_context(viewport={"width": 900, "height": 900}).new_page()
            page.set_default_timeout(15_000)
            page.on("console", console_logger(role, logs))
            pages[role] = page
        host, client = pages["host"], pages["client"]

        def both(state: str, timeout: int = CONNECT_MS) -> None:
            for page in (host, client):
                expect(page.locator("main")).to_have_attribute("data-call", state, timeout=timeout)

        try:
            # GIVEN both widget URLs of a real session, opened in two browser processes
            for role, page in pages.items():
                page.goto(urls[role])
                expect(page.locator("main")).to_have_attribute("data-call", "idle")
                expect(page.get_by_role("button", name="Join call")).to_be_enabled()
            expect(host.get_by_role("button", name="End session")).to_be_visible()
            expect(client.get_by_role("button", name="End session")).to_have_count(0)

            # WHEN the host joins alone (with the keyboard)
            host.get_by_role("button", name="Join call").focus()
            host.keyboard.press("Enter")
            # THEN it waits for the client, with its own camera in its tile
            expect(host.locator("main")).to_have_attribute("data-call", "waiting", timeout=CONNECT_MS)
            expect(host.locator("#call-status")).to_have_text("Waiting for Grace Hopper to join…")
            expect(host.locator("[data-tile=local] video")).to_be_visible()
            screenshot(host, "call-waiting")

            # WHEN the client joins too
            client.get_by_role("button", name="Join call").click()
            # THEN both pages reach `connected`, over a loopback host candidate pair
            both("connected")
            for page, other in ((host, "Grace Hopper"), (client, "Ada Lovelace")):
                expect(page.locator("#call-status")).to_have_text(f"Connected with {other}.")
                tiles = page.locator("figure.tile")
                expect(tiles).to_have_count(2)
                expect(tiles.locator("figcaption")).to_have_text([re_you(page), other])
                # the other's camera is playing in the remote tile
                wait_until(remote_video_plays(page), timeout=15, what="the remote video to play")
                assert set(stats(page)["candidateTypes"]) == {"host"}, stats(page)
            screenshot(host, "call-connected")

            # AND audio flows both ways (inbound bytes grow on both sides, and it is sound, not silence)
            for page in (host, client):
                assert growth(page, "inboundAudioBytes") > 1000, stats(page)
                wait_until(sound_arrives(page), timeout=10, what="sound, not silence")

            # WHEN the host mutes
            mute = host.get_by_role("button", name="Mute")
            expect(mute).to_have_attribute("aria-pressed", "false")
            mute.click()
            expect(mute).to_have_attribute("aria-pressed", "true")
            time.sleep(1.0)  # packets already on the way
            # THEN the host sends no audio: the client's inbound audio bytes stop growing
            assert growth(client, "inboundAudioBytes") == 0, stats(client)
            assert growth(host, "outboundAudioBytes", 0.5) == 0, stats(host)
            # while the client's audio still reaches the host
            assert growth(host, "inboundAudioBytes") > 1000
            # WHEN the host unmutes (keyboard: Space on the focused toggle)
            mute.focus()
            host.keyboard.press("Space")
            expect(mute).to_have_attribute("aria-pressed", "false")
            # THEN the client hears the host again
            assert growth(client, "inboundAudioBytes") > 1000, stats(client)
            # AND the camera toggle is labelled and pressed while the camera is on
            expect(host.get_by_role("button", name="Camera")).to_have_attribute("aria-pressed", "true")

            # WHEN the client reloads the page (token from sessionStorage; the page re-joins by itself)
            connections_before = stats(host)["peerConnections"]
            client.reload()
            # THEN the call comes back on both pages, on a fresh peer connection with audio again
            both("connected")
            assert stats(host)["peerConnections"] > connections_before
            for page in (host, client):
                assert growth(page, "inboundAudioBytes") > 1000, stats(page)

            # WHEN the client's page goes away for a moment (closed, network gone)
            client.goto("about:blank")
            # THEN the host says it is reconnecting
            expect(host.locator("main")).to_have_attribute("data-call", "reconnecting", timeout=CONNECT_MS)
            expect(host.locator("#call-status")).to_contain_text("Reconnecting")
            screenshot(host, "call-reconnecting")
            # WHEN the client comes back (the link without its token: this tab kept it)
            client.goto(urls["client"].split("?")[0])
            # THEN they are connected again
            both("connected")

            # WHEN the host ends the session
            host.get_by_role("button", name="End session").click()
            # THEN both pages end the call (the client learns it from the server's session-ended push)
            both("ended", timeout=15_000)
            expect(client.locator("#call-status")).to_have_text("The host ended the session.")
            expect(host.locator("#call-status")).to_have_text("The session has ended.")
            for page in (host, client):
                expect(page.get_by_role("button", name="Join call")).to_have_count(0)
                expect(page.locator("#session-status")).to_have_text("Ended")
            screenshot(client, "call-ended")
            # AND the session is ended in the API, and its devices are released
            assert tenant.http.get(f"/v1/sessions/{session_id}").json()["status"] == "ended"
            assert stats(host)["connectionState"] == "none"
        except BaseException:
            print("\n".join(logs[-200:]))
            raise


def re_you(page: Page) -> str:
    """The local tile's caption: the page's own participant, marked as you."""
    me = page.locator("#participant").inner_text()
    return f"{me} (you)"
