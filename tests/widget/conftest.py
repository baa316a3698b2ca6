"""Fixtures for the widget tests: one Chromium per module, a fresh browser context per test, and
two Chromium processes with their own fake microphones for the call tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from .support import launch, voice


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 760, "height": 820})
    yield context.new_page()
    context.close()


@pytest.fixture
def browsers(playwright: Playwright, data_dir: Path, tmp_path: Path) -> Iterator[tuple[Browser, Browser]]:
    """The host's and the client's browser: the left and the right channel of a two-speaker clip."""
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
