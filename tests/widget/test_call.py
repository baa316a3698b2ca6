"""The call: two Chromium processes meet in a real session on the local stack (issue 15).

Each browser is its own process because Chromium's fake microphone plays one file per process:
the host's plays the left channel of tests/data/stereo_diarization.wav, the client's the right.
The signaling is the real one: the local WebSocket gateway started by ``LocalStack`` calls the
signaling handler with API Gateway's events. On loopback, host candidates connect without STUN/TURN.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
from agentflow.aws.clients import client
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.settings import get_settings
from playwright.sync_api import Browser, Page, Playwright, expect

from .support import (
    DENY_MEDIA,
    Tenant,
    console_logger,
    growth,
    launch,
    new_tenant,
    screenshot,
    stats,
    wait_until,
)

CONNECT_MS = 30_000  # both pages to `connected` (about 1 s on loopback; generous on a busy machine)
TOKEN_SECONDS = 4


def remote_video_plays(page: Page) -> Callable[[], bool]:
    video = page.locator("[data-tile=remote] video")
    return lambda: bool(video.evaluate("v => v.videoWidth > 0 && !v.paused && v.readyState >= 2"))


def sound_arrives(page: Page) -> Callable[[], bool]:
    return lambda: bool(stats(page)["inboundAudioEnergy"] > 0)


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    with LocalStack(pollers=False) as stack:
        yield new_tenant(stack)


@pytest.mark.browser
@pytest.mark.slow
def test_host_and_client_meet_mute_reload_and_end(tenant: Tenant, browsers: tuple[Browser, Browser]) -> None:
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
        # THEN both pages reach `connected`, over a loopback candidate pair
        both("connected")
        for page, other in ((host, "Grace Hopper"), (client, "Ada Lovelace")):
            expect(page.locator("#call-status")).to_have_text(f"Connected with {other}.")
            tiles = page.locator("figure.tile")
            expect(tiles).to_have_count(2)
            expect(tiles.locator("figcaption")).to_have_text([re_you(page), other])
            # the other's camera is playing in the remote tile
            wait_until(remote_video_plays(page), timeout=15, what="the remote video to play")
            # loopback, no STUN/TURN: host candidates (or peer-reflexive ones, when a check arrives
            # before its candidate was signaled), never server-reflexive or relayed
            pair = set(stats(page)["candidateTypes"])
            assert pair and pair <= {"host", "prflx"}, stats(page)
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

        # WHEN the client leaves the call (and comes back)
        client.get_by_role("button", name="Leave call").click()
        # THEN the host waits, saying the client left; the client's devices are released
        expect(host.locator("main")).to_have_attribute("data-call", "waiting", timeout=CONNECT_MS)
        expect(host.locator("#call-status")).to_have_text(
            "Grace Hopper left the call. Waiting for them to come back…"
        )
        expect(client.locator("main")).to_have_attribute("data-call", "idle")
        expect(client.locator("#call-status")).to_have_text("You left the call.")
        client.get_by_role("button", name="Join call").click()
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


@pytest.mark.browser
def test_an_ended_session_refuses_the_call(tenant: Tenant, page: Page) -> None:
    # GIVEN a session the host ended before the page was opened
    ended = tenant.create_session()
    assert tenant.http.post(f"/v1/sessions/{ended['session_id']}/end").status_code == 200
    page.goto(ended["widget_urls"]["client"])
    # THEN the page says so and offers no call
    main = page.locator("main")
    expect(main).to_have_attribute("data-call", "ended")
    expect(page.locator("#call-status")).to_have_text("The host ended the session.")
    expect(page.get_by_role("button", name="Join call")).to_have_count(0)

    # GIVEN a page opened while the session was live, and the session ended since (no push: not joined)
    live = tenant.create_session()
    page.goto(live["widget_urls"]["host"])
    expect(main).to_have_attribute("data-call", "idle")
    assert tenant.http.post(f"/v1/sessions/{live['session_id']}/end").status_code == 200
    # WHEN the host tries to join: the gateway refuses the WebSocket handshake (the page sees 1006 only)
    page.get_by_role("button", name="Join call").click()
    # THEN the page asks the API why, and ends the call instead of retrying for ever
    expect(main).to_have_attribute("data-call", "ended", timeout=15_000)
    expect(main).to_have_attribute("data-call-reason", "session-ended")
    expect(page.locator("#call-status")).to_have_text("The session has ended.")


@pytest.mark.browser
def test_a_link_that_expires_while_open_is_explained(tenant: Tenant, page: Page) -> None:
    # GIVEN a host page opened with a join token that expires in a few seconds
    created = tenant.create_session()
    token = join_tokens.issue(
        secrets=client("secretsmanager"),
        secret_id=get_settings().join_token_secret_arn,
        session_id=created["session_id"],
        tenant_id=tenant.tenant_id,
        role="host",
        ttl_seconds=TOKEN_SECONDS,
    )
    page.goto(re.sub(r"token=[^&]+", f"token={token}", created["widget_urls"]["host"]))
    main = page.locator("main")
    expect(main).to_have_attribute("data-call", "idle")
    # WHEN the host joins after it expired
    time.sleep(TOKEN_SECONDS + 1)
    page.get_by_role("button", name="Join call").click()
    # THEN the refused socket is explained as an expired link
    expect(main).to_have_attribute("data-call", "ended", timeout=15_000)
    expect(main).to_have_attribute("data-call-reason", "expired")
    expect(page.locator("#call-error")).to_contain_text("This link has expired or is not valid")
    expect(page.locator("#call-status")).to_have_text("This link has expired.")


@pytest.mark.browser
def test_denied_camera_and_microphone_are_explained(tenant: Tenant, playwright: Playwright) -> None:
    # GIVEN a browser whose user blocks the camera and microphone
    browser = launch(playwright, media=DENY_MEDIA)
    try:
        page = browser.new_page()
        page.goto(tenant.create_session()["widget_urls"]["client"])
        # WHEN they press Join call
        page.get_by_role("button", name="Join call").click()
        # THEN the page explains what to do, and Join call stays available to try again
        expect(page.locator("#call-error")).to_contain_text("Camera and microphone access was denied")
        main = page.locator("main")
        expect(main).to_have_attribute("data-call", "idle")
        expect(main).to_have_attribute("data-call-reason", "denied")
        expect(page.get_by_role("button", name="Join call")).to_be_enabled()
    finally:
        browser.close()


def re_you(page: Page) -> str:
    """The local tile's caption: the page's own participant, marked as you."""
    me = page.locator("#participant").inner_text()
    return f"{me} (you)"
