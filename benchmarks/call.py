"""Time from both Join clicks to ``connected`` on both pages, on the local stack (issue 15).

Two Chromium processes (Debian's, through Playwright, fake camera and microphone) open the host's
and the client's widget of a fresh session per sample; the host's Join is clicked, then the
client's at once; each page notes ``Date.now()`` when its ``<main data-call>`` turns ``connected``
(a MutationObserver, so polling adds nothing). A sample is the later of the two minus the moment
before the first click (one clock: both browsers and this process run on the same machine). It
covers getUserMedia, ``GET /v1/sessions/{id}/ice-servers``, the WebSocket connect (token check,
seat claim in DynamoDB), ``join``, the perfect-negotiation offer/answer and trickled candidates
relayed through the local gateway and the signaling handler, ICE on loopback host candidates, DTLS.

Run: ``.venv/bin/python benchmarks/call.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from agentflow.local.stack import LocalStack
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.widget.support import launch, new_tenant  # noqa: E402

WATCH = """() => {
  window.__connectedAt = null;
  const main = document.querySelector("main");
  new MutationObserver(() => {
    if (main.dataset.call === "connected" && window.__connectedAt === null) window.__connectedAt = Date.now();
  }).observe(main, { attributes: true, attributeFilter: ["data-call"] });
}"""
TIMEOUT_MS = 60_000


def ready(page: Page, url: str) -> None:
    page.goto(url)
    page.locator("main[data-call=idle]").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Join call").wait_for(timeout=TIMEOUT_MS)
    page.evaluate(WATCH)


def main() -> int:
    # The in-process API and signaling handler log every request as JSON on stdout; their loggers
    # are created when the stack starts, so point stdout elsewhere first and print the figures to
    # the real one.
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the whole run)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples: list[float] = []
    with LocalStack(pollers=False) as stack, sync_playwright() as playwright:
        tenant = new_tenant(stack)
        browsers = [launch(playwright), launch(playwright)]
        try:
            host, client = (
                b.new_context(viewport={"width": 900, "height": 900}).new_page() for b in browsers
            )
            for i in range(args.repeat + 1):  # the first round warms up (imports, Chromium caches)
                urls = tenant.create_session()["widget_urls"]
                ready(host, urls["host"])
                ready(client, urls["client"])
                started = time.time() * 1000
                host.get_by_role("button", name="Join call").click()
                client.get_by_role("button", name="Join call").click()
                for page in (host, client):
                    page.locator("main[data-call=connected]").wait_for(timeout=TIMEOUT_MS)
                done = max(float(p.evaluate("() => window.__connectedAt")) for p in (host, client))
                seconds = (done - started) / 1000
                print(f"{'warm-up' if i == 0 else f'sample {i}'}: {seconds:.3f} s", file=out, flush=True)
                if i:
                    samples.append(seconds)
                host.get_by_role("button", name="End session").click()
                for page in (host, client):
                    page.locator("main[data-call=ended]").wait_for(timeout=TIMEOUT_MS)
        finally:
            for browser in browsers:
                browser.close()
    print(
        f"join → connected on both pages: median {statistics.median(samples):.3f} s "
        f"(min {min(samples):.3f}, max {max(samples):.3f}, n={len(samples)}, {os.cpu_count()} cores)",
        file=out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
