"""The host's widget end to end: record in Chromium, upload to S3 (moto), real pipeline, signed PDF."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from agentflow.local.stack import LocalStack
from playwright.sync_api import Page, Route, expect

from .support import new_tenant, screenshot, wait_until

# Slow enough that the progress bar can be seen moving (bytes per second; the recording is ~100 kB).
UPLOAD_THROTTLE = 24 * 1024
# Model loading (whisper, pyannote) on a busy 2-core machine, then a few seconds of audio.
PIPELINE_TIMEOUT = 300.0


@pytest.mark.browser
@pytest.mark.slow
def test_host_records_uploads_through_a_dropped_connection_and_gets_the_signed_summary(page: Page) -> None:
    with LocalStack() as stack:
        tenant = new_tenant(stack)
        created = tenant.create_session()
        session_id = created["session_id"]

        # GIVEN the host's widget URL of a real session
        page.goto(created["widget_urls"]["host"])
        main = page.locator("main")
        expect(main).to_have_attribute("data-state", "idle")
        # THEN it shows who is who, and the token has left the address bar
        expect(page.get_by_role("heading", level=1)).to_have_text("Session with Grace Hopper")
        expect(page.locator("#participant")).to_have_text("Ada Lovelace")
        expect(page.locator("#role")).to_have_text("Host")
        expect(page.locator("#session-status")).to_have_text("Scheduled")
        assert "token=" not in page.url
        screenshot(page, "idle")

        # WHEN the host starts recording with the keyboard (camera + microphone: Chromium's fake devices)
        page.get_by_role("button", name="Start recording").focus()
        page.keyboard.press("Enter")
        expect(main).to_have_attribute("data-state", "recording")
        # THEN the stop button has the focus, and the timer runs
        expect(page.get_by_role("button", name="Stop and upload")).to_be_focused()
        expect(page.get_by_role("timer")).to_have_text("00:04", timeout=15_000)
        assert page.locator("#preview").evaluate("v => v.videoWidth > 0 && !v.paused")
        screenshot(page, "recording")

        # GIVEN the connection to S3 drops for the first attempt, then comes back slow
        dropped: list[str] = []

        def drop(route: Route) -> None:
            dropped.append(route.request.method)
            route.abort("internetdisconnected")

        storage = re.compile("^" + re.escape(stack.endpoint_url) + "/")
        page.route(storage, drop)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": UPLOAD_THROTTLE},
        )
        # WHEN the host stops
        page.get_by_role("button", name="Stop and upload").click()
        # THEN the widget says it retries, and does
        expect(page.get_by_role("status")).to_contain_text("retrying", timeout=15_000)
        page.unroute(storage)
        assert dropped, "the first upload attempt never reached S3"
        expect(main).to_have_attribute("data-state", "uploading")
        progress = page.get_by_role("progressbar")
        wait_until(
            lambda: 5 <= int(progress.get_attribute("value") or 0) < 100,
            timeout=30,
            interval=0.05,
            what="the progress bar to move",
        )
        screenshot(page, "uploading")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        expect(main).to_have_attribute("data-state", re.compile("processing|done"), timeout=60_000)
        recording_id = main.get_attribute("data-recording")
        assert recording_id

        # THEN the upload is a stereo WebM/Opus recording (host on channel 0; no remote participant yet)
        def recording() -> dict[str, Any]:
            body: dict[str, Any] = tenant.http.get(f"/v1/recordings/{recording_id}").json()
            return body

        uploaded = wait_until(
            lambda: (r := recording())["status"] != "PENDING_UPLOAD" and r, timeout=60, what="ingest"
        )
        assert uploaded["content_type"] == "video/webm"
        assert uploaded["channels"] == 2 and uploaded["per_channel"] is False
        assert 3.5 <= uploaded["duration_seconds"] <= 15, uploaded

        # WHEN the pipeline runs (transcribe + diarize → summarize → PDF + signature)
        final = wait_until(
            lambda: (r := recording())["status"] in ("COMPLETED", "FAILED") and r,
            timeout=PIPELINE_TIMEOUT,
            interval=2,
            what=lambda: f"COMPLETED or FAILED; last {(r := recording())['status']}, stages {r['stages']}",
        )
        # THEN it completes even on a beep with no speech in it
        assert final["status"] == "COMPLETED", (final["failed_stage"], final["failure_reason"])
        assert final["stages"]["transcribe"]["status"] == "DONE"
        assert final["stages"]["diarize"]["status"] == "DONE"
        expect(main).to_have_attribute("data-state", "done", timeout=30_000)
        pdf = page.get_by_role("link", name="Open the signed summary (PDF)")
        expect(pdf).to_be_visible(timeout=30_000)
        expect(page.get_by_role("status")).to_have_text("The signed summary is ready.")
        screenshot(page, "done")

        # AND the link is the signed summary's PDF
        summary = tenant.http.get(f"/v1/sessions/{session_id}/summary")
        assert summary.status_code == 200, summary.text
        body = summary.json()
        assert body["signature"], body
        # (each presigned URL carries its own expiry and signature: compare the object it names)
        href = urlsplit(pdf.get_attribute("href") or "")
        assert (href.netloc, href.path) == urlsplit(body["pdf_url"])[1:3]
        document = httpx.get(body["pdf_url"], timeout=10)
        assert document.status_code == 200 and document.content.startswith(b"%PDF")
