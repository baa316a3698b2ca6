"""ICE restart, and a call that outlives its signaling socket (API Gateway's connection limit).

API Gateway closes every WebSocket after 2 hours (and after 10 idle minutes); the local gateway does
the same, here after CONNECTION_SECONDS. Each page then reconnects with backoff, sends `join` again,
and both sides renegotiate on a fresh peer connection (docs/WIDGET.md, "Re-join").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agentflow.local.gateway import GatewayLimits
from agentflow.local.stack import LocalStack
from playwright.sync_api import Browser, Page, expect

from .support import Tenant, console_logger, growth, new_tenant, stats, wait_until

CONNECTION_SECONDS = 25.0  # long enough for the ICE restart part to finish first
CONNECT_MS = 30_000


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    limits = GatewayLimits(max_connection_seconds=CONNECTION_SECONDS)
    with LocalStack(pollers=False, gateway_limits=limits) as stack:
        yield new_tenant(stack)


@pytest.mark.browser
@pytest.mark.slow
def test_the_call_comes_back_after_the_gateway_closes_both_sockets(
    tenant: Tenant, browsers: tuple[Browser, Browser]
) -> None:
    urls = tenant.create_session()["widget_urls"]
    logs: list[str] = []
    pages: list[Page] = []
    for role, browser in zip(("host", "client"), browsers, strict=True):
        page = browser.new_context(viewport={"width": 900, "height": 900}).new_page()
        page.on("console", console_logger(role, logs))
        page.goto(urls[role])
        pages.append(page)
    try:
        # GIVEN both participants in the call
        for page in pages:
            page.get_by_role("button", name="Join call").click()
        for page in pages:
            expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
        # WHEN the host restarts ICE (what a failed or long-disconnected connection does by itself)
        host = pages[0]
        before = stats(host)
        host.evaluate("() => window.AgentFlowWidget.call.restartIce()")
        # THEN the same peer connection renegotiates new ICE credentials and stays up
        wait_until(
            lambda: stats(host)["localIceUfrag"] not in (None, before["localIceUfrag"]),
            timeout=15,
            what="a new ICE username fragment after restartIce()",
        )
        for page in pages:
            expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
        assert stats(host)["peerConnections"] == before["peerConnections"]
        assert growth(pages[1], "inboundAudioBytes") > 1000

        first = [stats(page)["peerConnections"] for page in pages]
        # WHEN the gateway closes each page's socket at its connection limit (1001 "going away")
        # THEN each page reconnects and re-joins: both sides renegotiate on a new peer connection
        wait_until(
            lambda: all(stats(p)["peerConnections"] >= n + 2 for p, n in zip(pages, first, strict=True)),
            timeout=CONNECTION_SECONDS * 2 + 30,
            interval=0.5,
            what=lambda: f"both sockets re-joined: {[stats(p) for p in pages]}",
        )
        # AND the call is connected again, with audio both ways
        for page in pages:
            expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
        for page in pages:
            assert growth(page, "inboundAudioBytes") > 1000, stats(page)
    except BaseException:
        print("\n".join(logs[-200:]))
        raise
