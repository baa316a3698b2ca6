"""The widget's other paths in Chromium: error messages, the client's page, and two-channel recording.

One local stack without pollers (uploads land in S3 and stay there) and an upload limit small enough
for a few seconds of camera video to exceed it, but not a few seconds of sound.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from agentflow.aws.clients import client, table
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.services import recordings as recs
from agentflow.settings import get_settings
from agentflow.speech.audio import SAMPLE_RATE, decode, probe
from agentflow.speech.channels import channels_are_participants
from playwright.sync_api import Page, Playwright, expect

from .support import DENY_MEDIA, Tenant, launch, new_tenant

MAX_UPLOAD_BYTES = 100_000  # ~3 s of VP8 test card is more; ~3 s of stereo Opus is less

# A 330 Hz tone standing in for the remote participant (the call hands over its remote stream the same way).
REMOTE_TONE = """async () => {
  const context = new AudioContext();
  await context.resume();
  const tone = context.createOscillator();
  tone.frequency.value = 330;
  const gain = context.createGain();
  gain.gain.value = 0.3;
  const out = context.createMediaStreamDestination();
  tone.connect(gain).connect(out);
  tone.start();
  window.AgentFlowWidget.setRemoteAudio(out.stream);
  return context.state;
}"""


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    with LocalStack(pollers=False, environment={"MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES)}) as stack:
        yield new_tenant(stack)


def record(page: Page, *, seconds: int, camera: bool) -> None:
    """Record for ``seconds`` (by the timer) and press stop."""
    main = page.locator("main")
    expect(main).to_have_attribute("data-state", "idle")
    page.get_by_label("Use my camera").set_checked(camera)
    page.get_by_role("button", name="Start recording").click()
    expect(main).to_have_attribute("data-state", "recording")
    expect(page.get_by_role("timer")).to_have_text(f"00:{seconds:02d}", timeout=(seconds + 10) * 1000)
    page.get_by_role("button", name="Stop and upload").click()


def uploads(tenant: Tenant, session_id: str) -> list[str]:
    """The object keys uploaded for a session."""
    listing = client("s3").list_objects_v2(
        Bucket=tenant.stack.ref("RecordingsBucket"), Prefix=f"recordings/{tenant.tenant_id}/{session_id}/"
    )
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.mark.browser
def test_remote_participant_is_recorded_on_its_own_channel(tenant: Tenant, page: Page) -> None:
    # GIVEN the host's widget, recording sound only
    created = tenant.create_session()
    page.goto(created["widget_urls"]["host"])
    page.get_by_label("Use my camera").set_checked(False)
    page.get_by_role("button", name="Start recording").click()
    expect(page.locator("main")).to_have_attribute("data-state", "recording")
    # WHEN a remote participant's audio arrives during the recording
    assert page.evaluate(REMOTE_TONE) == "running"
    expect(page.get_by_role("timer")).to_have_text("00:04", timeout=15_000)
    page.get_by_role("button", name="Stop and upload").click()
    expect(page.locator("main")).to_have_attribute("data-state", "processing", timeout=30_000)

    # THEN the upload is audio/webm with the host (fake microphone's beep) on channel 0 and the remote
    # tone on channel 1: distinct, both present, which is what makes ingest choose per-channel diarization
    (key,) = uploads(tenant, created["session_id"])
    obj = client("s3").get_object(Bucket=tenant.stack.ref("RecordingsBucket"), Key=key)
    assert obj["ContentType"] == "audio/webm"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recording.webm"
        path.write_bytes(obj["Body"].read())
        info = probe(path)
        audio = decode(path, mono=False)
    assert (info.codec, info.channels) == ("opus", 2)
    assert audio.shape[0] == 2 and audio.shape[1] >= 3.5 * SAMPLE_RATE
    assert channels_are_participants(audio)
    spectrum = np.abs(np.fft.rfft(audio, axis=1))
    frequencies = np.fft.rfftfreq(audio.shape[1], 1 / SAMPLE_RATE)
    peak_hz = frequencies[spectrum.argmax(axis=1)]
    assert abs(peak_hz[1] - 330) < 5, peak_hz  # the remote tone, on channel 1 only
    assert abs(peak_hz[0] - 330) > 50, peak_hz


@pytest.mark.browser
def test_recording_over_the_upload_limit_is_refused_before_uploading(tenant: Tenant, page: Page) -> None:
    # GIVEN a host who records camera video, larger than the upload limit
    created = tenant.create_session()
    page.goto(created["widget_urls"]["host"])
    record(page, seconds=3, camera=True)
    # THEN the widget says so, offers to record again, and sends nothing to S3
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("over the upload limit of 0.1 MB", timeout=15_000)
    expect(page.get_by_role("button", name="Record again")).to_be_focused()
    assert uploads(tenant, created["session_id"]) == []
    # WHEN the host records again (the keyboard works throughout)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_have_attribute("data-state", "idle")
    expect(page.locator("#error")).to_have_text("")


@pytest.mark.browser
def test_failed_recording_shows_its_reason(tenant: Tenant, page: Page) -> None:
    # GIVEN a host whose recording was uploaded and is being processed
    created = tenant.create_session()
    page.goto(created["widget_urls"]["host"])
    record(page, seconds=2, camera=False)
    main = page.locator("main")
    expect(main).to_have_attribute("data-state", "processing", timeout=30_000)
    recording_id = main.get_attribute("data-recording")
    assert recording_id
    # WHEN the pipeline marks it FAILED (as a stage does, through the recordings state machine)
    db = table(tenant.stack.ref("Table"))
    reason = "The recording contains no audio (duration 0 s)."
    assert recs.mark_failed(
        db,
        recs.get_recording(db, tenant_id=tenant.tenant_id, recording_id=recording_id),
        stage="ingest",
        reason=reason,
    )
    # THEN the page shows the reason and offers to record again
    expect(main).to_have_attribute("data-state", "failed", timeout=15_000)
    expect(page.get_by_role("alert")).to_have_text(f"The recording could not be processed: {reason}")
    expect(page.get_by_role("button", name="Record again")).to_be_focused()


@pytest.mark.browser
def test_expired_link_says_so(tenant: Tenant, page: Page) -> None:
    # GIVEN a host link whose join token expired a minute ago
    created = tenant.create_session()
    token = join_tokens.issue(
        secrets=client("secretsmanager"),
        secret_id=get_settings().join_token_secret_arn,
        session_id=created["session_id"],
        tenant_id=tenant.tenant_id,
        role="host",
        ttl_seconds=-60,
    )
    url = re.sub(r"token=[^&]+", f"token={token}", created["widget_urls"]["host"])
    # WHEN it is opened
    page.goto(url)
    # THEN the page explains, and offers no recording
    expect(page.locator("main")).to_have_attribute("data-state", "error")
    expect(page.get_by_role("alert")).to_contain_text("This link has expired or is not valid")
    expect(page.get_by_role("alert")).to_contain_text("Join token expired")
    expect(page.get_by_role("button", name="Start recording")).to_be_hidden()


@pytest.mark.browser
def test_client_page_shows_the_session_without_recording(tenant: Tenant, page: Page) -> None:
    # GIVEN the client's widget URL
    created = tenant.create_session()
    page.goto(created["widget_urls"]["client"])
    # THEN it shows the client's view: names, role, status, and no recording controls
    expect(page.locator("main")).to_have_attribute("data-state", "viewer")
    expect(page.locator("#participant")).to_have_text("Grace Hopper")
    expect(page.locator("#role")).to_have_text("Client")
    expect(page.get_by_role("heading", level=1)).to_have_text("Session with Ada Lovelace")
    expect(page.get_by_role("status")).to_contain_text("The host records this session")
    expect(page.get_by_role("button", name="Start recording")).to_be_hidden()


@pytest.mark.browser
def test_denied_microphone_is_explained(tenant: Tenant, playwright: Playwright) -> None:
    # GIVEN a browser whose user answers "block" to the camera and microphone prompt
    browser = launch(playwright, media=DENY_MEDIA)
    try:
        page = browser.new_page()
        created = tenant.create_session()
        page.goto(created["widget_urls"]["host"])
        # WHEN the host tries to record
        started = time.monotonic()
        page.get_by_role("button", name="Start recording").click()
        # THEN the widget explains what to do, stays ready, and lets them try again
        expect(page.get_by_role("alert")).to_contain_text("Microphone access was denied")
        assert time.monotonic() - started < 10
        expect(page.locator("main")).to_have_attribute("data-state", "idle")
        expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    finally:
        browser.close()
