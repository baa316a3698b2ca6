"""Per-participant recording in the call widget (issue 16), end to end with two Chromium processes.

Each browser is its own process with its own fake microphone: the host's plays the left channel of
tests/data/stereo_diarization.wav, the client's the right, each once (no loop) between stretches of
silence. The silence before the speech covers joining and connecting: Chromium's fake microphone
plays from the moment the page opens it (Join call), while the page records from when the call
connects. Each page records its own microphone with MediaRecorder and uploads each 5 s chunk as a
part while the call runs; End session finishes both tracks; the pipeline assembles one channel per
participant and the signed summary names who said each word.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentflow.local.stack import LocalStack
from agentflow.services.tracks import tracks_recording_id
from agentflow.workflows import validate_summary
from playwright.sync_api import Browser, Page, Playwright, expect
from playwright.sync_api import Error as PlaywrightError

from benchmarks.evaluation import normalize_words
from tests.pipeline.support import events_of
from tests.speech.test_transcribe import LEFT, RIGHT

from .support import Tenant, console_logger, launch, new_tenant, wait_until

CONNECT_MS = 30_000
LEAD_SECONDS = 14.0  # silence before the speech: both pages join and connect within it
TAIL_SECONDS = 6.0  # silence after it (then the fake microphone plays silence anyway)
SPEECH_SECONDS = 5.0  # stereo_diarization.wav
TIMESLICE_SECONDS = 5.0  # the widget's MediaRecorder timeslice
PIPELINE_SECONDS = 420  # End session → COMPLETED on this loaded 2-core machine
HOST, CLIENT = "Ada Lovelace", "Grace Hopper"


def padded_voice(source: Path, channel: int, out: Path) -> Path:
    """One channel of ``source`` between LEAD and TAIL seconds of silence, mono 16-bit PCM, played once."""
    with wave.open(str(source)) as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        assert wav.getsampwidth() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, channels)
    assert frames.shape[0] / rate == pytest.approx(SPEECH_SECONDS, abs=0.1)
    silence = np.zeros(int(LEAD_SECONDS * rate), dtype="<i2")
    padded = np.concatenate([silence, frames[:, channel], np.zeros(int(TAIL_SECONDS * rate), dtype="<i2")])
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(padded.astype("<i2").tobytes())
    return out


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The whole pipeline with its pollers; a track that never completes is waited for 30 s."""
    with LocalStack(environment={"TRACK_GRACE_SECONDS": "30"}) as running:
        yield running


@pytest.fixture
def tenant(stack: LocalStack) -> Tenant:
    return new_tenant(stack)


@pytest.fixture
def speaking(playwright: Playwright, data_dir: Path, tmp_path: Path) -> Iterator[tuple[Browser, Browser]]:
    """The host's and the client's browser, speaking the left and the right channel once."""
    source = data_dir / "stereo_diarization.wav"
    host = launch(playwright, fake_audio=padded_voice(source, 0, tmp_path / "host.wav"))
    try:
        client = launch(playwright, fake_audio=padded_voice(source, 1, tmp_path / "client.wav"))
        try:
            yield host, client
        finally:
            client.close()
    finally:
        host.close()


def said(transcript: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each speaker's words, normalised (tests/pipeline/test_tracks_end_to_end.py's comparison)."""
    words: dict[str, list[str]] = {}
    for utterance in transcript:
        words.setdefault(utterance["speaker"], []).extend(normalize_words(utterance["text"]))
    return words


def audio_tracks(tenant: Tenant, session_id: str) -> list[dict[str, Any]]:
    listed = tenant.http.get(f"/v1/sessions/{session_id}/tracks")
    assert listed.status_code == 200, listed.text
    return [t for t in listed.json()["items"] if t["kind"] == "audio"]


def stored_parts(tenant: Tenant, session_id: str, track_id: str) -> list[int]:
    listed = tenant.http.get(f"/v1/sessions/{session_id}/tracks/{track_id}/parts")
    assert listed.status_code == 200, listed.text
    return [p["part_number"] for p in listed.json()["parts"]]


@pytest.mark.browser
@pytest.mark.slow
def test_each_page_records_its_own_track_and_the_summary_names_who_said_each_word(
    stack: LocalStack, tenant: Tenant, speaking: tuple[Browser, Browser]
) -> None:
    created = tenant.create_session()
    session_id = created["session_id"]
    urls = created["widget_urls"]
    logs: list[str] = []
    pages: dict[str, Page] = {}
    for role, browser in zip(("host", "client"), speaking, strict=True):
        page = browser.new_context(viewport={"width": 900, "height": 1000}).new_page()
        page.set_default_timeout(15_000)
        page.on("console", console_logger(role, logs))
        pages[role] = page
    host, client = pages["host"], pages["client"]
    try:
        # GIVEN both widget URLs of a session; the client's page says the session is recorded
        for page in (host, client):
            page.goto(urls["host" if page is host else "client"])
            expect(page.locator("main")).to_have_attribute("data-call", "idle")
            expect(page.locator("main")).to_have_attribute("data-call-recording", "off")
        expect(client.locator("#recording-notice")).to_contain_text("This session is recorded")

        # WHEN both join (their fake microphones start playing: silence, then their words)
        joined_at = time.time() * 1000
        for page in (host, client):
            page.get_by_role("button", name="Join call").click()
        # THEN once the call connects, both pages record, and say so
        for page in (host, client):
            expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
            expect(page.locator("main")).to_have_attribute("data-call-recording", "on", timeout=CONNECT_MS)
            expect(page.locator("#recording-indicator")).to_contain_text("Recording")
        expect(host.get_by_role("button", name="Pause recording")).to_be_enabled()
        expect(client.get_by_role("button", name="Pause recording")).to_have_count(0)

        # AND each page opened its own audio track before its words began
        tracks = wait_until(
            lambda: (found := audio_tracks(tenant, session_id)) and len(found) == 2 and found,
            timeout=30,
            what="both pages' audio tracks",
        )
        assert sorted(t["role"] for t in tracks) == ["client", "host"]
        for track in tracks:
            assert track["timeslice_ms"] == TIMESLICE_SECONDS * 1000
            assert track["content_type"].startswith("audio/webm")
            lead_ms = track["started_at_server_ms"] - joined_at
            assert lead_ms < LEAD_SECONDS * 1000 - 1000, (
                f"{track['role']} started recording {lead_ms} ms after Join"
            )

        # WHEN both have uploaded parts past the end of the speech (the recorder may have started at
        # any point of the lead silence, so count from the end of the speech on the file's clock)
        needed = int(np.ceil((LEAD_SECONDS + SPEECH_SECONDS + 1) / TIMESLICE_SECONDS))
        by_role = {t["role"]: t["track_id"] for t in tracks}
        wait_until(
            lambda: all(len(stored_parts(tenant, session_id, t)) >= needed for t in by_role.values()),
            timeout=LEAD_SECONDS + SPEECH_SECONDS + TAIL_SECONDS + 60,
            interval=1,
            what=lambda: (
                f"{needed} parts of each track: "
                f"{ {r: stored_parts(tenant, session_id, t) for r, t in by_role.items()} }"
            ),
        )
        # AND the host ends the session
        host.get_by_role("button", name="End session").click()
        # THEN both pages stop recording and end the call
        for page in (host, client):
            expect(page.locator("main")).to_have_attribute("data-call", "ended", timeout=30_000)
            expect(page.locator("main")).to_have_attribute("data-call-recording", "off")

        # AND both tracks are complete, every part stored once, none missing
        def completed() -> list[dict[str, Any]] | None:
            found = audio_tracks(tenant, session_id)
            return found if len(found) == 2 and all(t["status"] == "COMPLETED" for t in found) else None

        final_tracks = wait_until(completed, timeout=60, interval=1, what="both tracks COMPLETED")
        for track in final_tracks:
            parts = stored_parts(tenant, session_id, track["track_id"])
            assert parts == list(range(1, track["part_count"] + 1)), (track, parts)

        # AND each page's camera was recorded beside it, as its own video track, complete and whole
        def videos_completed() -> list[dict[str, Any]] | None:
            listed = tenant.http.get(f"/v1/sessions/{session_id}/tracks").json()["items"]
            found = [t for t in listed if t["kind"] == "video"]
            return found if len(found) == 2 and all(t["status"] == "COMPLETED" for t in found) else None

        videos = wait_until(videos_completed, timeout=60, interval=1, what="both video tracks COMPLETED")
        assert sorted(t["role"] for t in videos) == ["client", "host"]
        for track in videos:
            assert track["content_type"].startswith("video/webm"), track
            assert stored_parts(tenant, session_id, track["track_id"]) == list(
                range(1, track["part_count"] + 1)
            )
        uploaded = events_of(stack, session_id, "track.uploaded")
        assert sorted(
            '"role":"host"' in e["payload"] for e in uploaded if '"kind":"audio"' in e["payload"]
        ) == [
            False,
            True,
        ]

        # AND the recording built from the tracks completes
        rid = tracks_recording_id(session_id)

        def done() -> dict[str, Any] | None:
            answer = tenant.http.get(f"/v1/recordings/{rid}")
            if answer.status_code != 200:
                return None
            body: dict[str, Any] = answer.json()
            return body if body["status"] in {"COMPLETED", "FAILED"} else None

        final = wait_until(done, timeout=PIPELINE_SECONDS, interval=2, what="the tracks' recording COMPLETED")
        assert final["status"] == "COMPLETED", final
        assert final["per_channel"] is True

        # AND the signed summary has the left channel's words under the host's name, the right's under
        # the client's, each word for word
        signed = tenant.http.get(f"/v1/sessions/{session_id}/summary")
        assert signed.status_code == 200, signed.text
        summary = validate_summary(signed.json()["summary"])
        assert said([u.model_dump() for u in summary.transcript]) == {
            HOST: normalize_words(LEFT),
            CLIENT: normalize_words(RIGHT),
        }
        assert {(u.speaker, u.role) for u in summary.transcript} == {(HOST, "host"), (CLIENT, "client")}
        assert summary.missing_audio == []
    except BaseException:
        print("\n".join(logs[-200:]))
        raise


def join_both(tenant: Tenant, browsers: tuple[Browser, Browser], logs: list[str]) -> tuple[str, Page, Page]:
    """A fresh session, both pages joined and connected, both recording."""
    created = tenant.create_session()
    pages = []
    for role, browser in zip(("host", "client"), browsers, strict=True):
        page = browser.new_context(viewport={"width": 900, "height": 1000}).new_page()
        page.set_default_timeout(15_000)
        page.on("console", console_logger(role, logs))
        page.goto(created["widget_urls"][role])
        pages.append(page)
    for page in pages:
        page.get_by_role("button", name="Join call").click()
    for page in pages:
        expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
        expect(page.locator("main")).to_have_attribute("data-call-recording", "on", timeout=CONNECT_MS)
    return created["session_id"], pages[0], pages[1]


def tracks_of(tenant: Tenant, session_id: str, count: int) -> list[dict[str, Any]]:
    """Wait until the session has ``count`` audio tracks, each with a stored part; by role, then start."""

    def found() -> list[dict[str, Any]] | None:
        tracks = audio_tracks(tenant, session_id)
        ready = len(tracks) == count and all(stored_parts(tenant, session_id, t["track_id"]) for t in tracks)
        return sorted(tracks, key=lambda t: (t["role"], t["started_at_server_ms"])) if ready else None

    tracks: list[dict[str, Any]] = wait_until(
        found,
        timeout=60,
        interval=1,
        what=lambda: f"{count} audio tracks with a stored part: {audio_tracks(tenant, session_id)}",
    )
    return tracks


def assert_complete_and_whole(tenant: Tenant, session_id: str, track_id: str) -> None:
    """The track is COMPLETED and its stored parts are exactly 1..part_count (none lost, none twice)."""

    def track() -> dict[str, Any] | None:
        match = [t for t in audio_tracks(tenant, session_id) if t["track_id"] == track_id]
        return match[0] if match and match[0]["status"] == "COMPLETED" else None

    done = wait_until(track, timeout=30, interval=1, what=f"track {track_id} COMPLETED")
    parts = stored_parts(tenant, session_id, track_id)
    assert done["part_count"] >= 1
    assert parts == list(range(1, done["part_count"] + 1)), (done, parts)


@pytest.mark.browser
@pytest.mark.slow
def test_the_host_pauses_and_resumes_both_recordings_and_a_reload_continues_on_a_new_track(
    tenant: Tenant, browsers: tuple[Browser, Browser]
) -> None:
    logs: list[str] = []
    try:
        # GIVEN a call where both pages record
        session_id, host, client = join_both(tenant, browsers, logs)
        first = tracks_of(tenant, session_id, 2)
        # WHEN the host pauses the recording
        host.get_by_role("button", name="Pause recording").click()
        # THEN both pages say it is paused, and both tracks are finished, every part stored once
        for page in (host, client):
            expect(page.locator("main")).to_have_attribute("data-call-recording", "paused")
        expect(client.locator("#recording-indicator")).to_have_text("Recording paused by the host.")
        expect(client.get_by_role("button", name="Resume recording")).to_have_count(0)
        for track in first:
            assert_complete_and_whole(tenant, session_id, track["track_id"])
        # WHEN the host resumes
        host.get_by_role("button", name="Resume recording").click()
        # THEN both record again, each on a new track that starts after the pause
        for page in (host, client):
            expect(page.locator("main")).to_have_attribute("data-call-recording", "on")
        second = tracks_of(tenant, session_id, 4)
        for role in ("client", "host"):
            old, new = [t for t in second if t["role"] == role]
            assert new["status"] == "RECORDING"
            assert new["started_at_server_ms"] > old["started_at_server_ms"]

        # WHEN the client reloads mid-call
        reloaded = [t for t in second if t["role"] == "client"][1]
        client.reload()
        # THEN the call and the recording come back; the track of the page before the reload is
        # completed with every part it recorded (kept chunks sent after the reload), none twice
        for page in (host, client):
            expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
        expect(client.locator("main")).to_have_attribute("data-call-recording", "on", timeout=CONNECT_MS)
        assert_complete_and_whole(tenant, session_id, reloaded["track_id"])
        third = tracks_of(tenant, session_id, 5)
        assert [t["status"] for t in third if t["role"] == "client"] == [
            "COMPLETED",
            "COMPLETED",
            "RECORDING",
        ]
        # and the host's recording went on through the client's reload, on the same track
        assert [t["status"] for t in third if t["role"] == "host"] == ["COMPLETED", "RECORDING"]
    except BaseException:
        print("\n".join(logs[-200:]))
        raise


def browser_pid(fake_audio: Path) -> int:
    """The pid of the Chromium browser process (not a renderer or helper) launched with ``fake_audio``."""
    flag = f"--use-file-for-fake-audio-capture={fake_audio}%noloop"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if flag in args and not any(a.startswith("--type=") for a in args):
            found.append(int(entry.name))
    assert len(found) == 1, f"browser processes with {fake_audio}: {found}"
    return found[0]


@pytest.mark.browser
@pytest.mark.slow
def test_a_crashed_client_loses_only_its_unsent_end_and_the_summary_says_so(
    stack: LocalStack, tenant: Tenant, playwright: Playwright, data_dir: Path, tmp_path: Path
) -> None:
    source = data_dir / "stereo_diarization.wav"
    client_audio = padded_voice(source, 1, tmp_path / "client.wav")
    host_browser = launch(playwright, fake_audio=padded_voice(source, 0, tmp_path / "host.wav"))
    client_browser = launch(playwright, fake_audio=client_audio)
    logs: list[str] = []
    try:
        # GIVEN a call where both pages record, and both have stored parts past the speech
        session_id, host, _client = join_both(tenant, (host_browser, client_browser), logs)
        tracks = tracks_of(tenant, session_id, 2)
        by_role = {t["role"]: t["track_id"] for t in tracks}
        needed = int(np.ceil((LEAD_SECONDS + SPEECH_SECONDS + 1) / TIMESLICE_SECONDS))
        wait_until(
            lambda: all(len(stored_parts(tenant, session_id, t)) >= needed for t in by_role.values()),
            timeout=LEAD_SECONDS + SPEECH_SECONDS + TAIL_SECONDS + 60,
            interval=1,
            what=f"{needed} parts of each track",
        )
        # WHEN the client's browser process is killed (no unload, no leave, no last chunk)
        os.kill(browser_pid(client_audio), signal.SIGKILL)
        # THEN the host's page says the client's connection dropped, and goes on recording
        expect(host.locator("main")).to_have_attribute("data-call-reason", "peer-lost", timeout=CONNECT_MS)
        expect(host.locator("main")).to_have_attribute("data-call-recording", "on")
        host_parts = len(stored_parts(tenant, session_id, by_role["host"]))
        wait_until(
            lambda: len(stored_parts(tenant, session_id, by_role["host"])) >= host_parts + 2,
            timeout=60,
            interval=1,
            what="two more host parts after the crash",
        )
        # WHEN the host ends the session
        host.get_by_role("button", name="End session").click()
        expect(host.locator("main")).to_have_attribute("data-call", "ended", timeout=30_000)
        # THEN the host's track is complete, the client's never will be (the grace period builds without it)
        rid = tracks_recording_id(session_id)

        def done() -> dict[str, Any] | None:
            answer = tenant.http.get(f"/v1/recordings/{rid}")
            if answer.status_code != 200:
                return None
            body: dict[str, Any] = answer.json()
            return body if body["status"] in {"COMPLETED", "FAILED"} else None

        final = wait_until(done, timeout=PIPELINE_SECONDS, interval=2, what="the tracks' recording COMPLETED")
        assert final["status"] == "COMPLETED", final
        statuses = {t["role"]: t["status"] for t in audio_tracks(tenant, session_id)}
        assert statuses == {"host": "COMPLETED", "client": "RECORDING"}
        # AND the host's words are all there under the host's name, the client's (all stored before
        # the crash) under the client's
        signed = tenant.http.get(f"/v1/sessions/{session_id}/summary")
        assert signed.status_code == 200, signed.text
        summary = validate_summary(signed.json()["summary"])
        words = said([u.model_dump() for u in summary.transcript])
        assert words[HOST] == normalize_words(LEFT)
        heard = words.get(CLIENT, [])
        assert heard == normalize_words(RIGHT)[: len(heard)] and heard, words
        # AND the summary says the client's track ends early, up to the end of the recording
        [gap] = summary.missing_audio
        assert (gap.name, gap.role, gap.reason) == (CLIENT, "client", "ends_early")
        assert gap.end - gap.start >= 2 * TIMESLICE_SECONDS - 1, gap
        assert "ends early" in gap.note
    except BaseException:
        print("\n".join(logs[-200:]))
        raise
    finally:
        with contextlib.suppress(PlaywrightError):  # its process is gone
            client_browser.close()
        host_browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_reload_after_the_clients_words_loses_no_part_and_no_word(
    stack: LocalStack, tenant: Tenant, speaking: tuple[Browser, Browser]
) -> None:
    logs: list[str] = []
    try:
        # GIVEN a call where both pages have stored their words
        session_id, host, client = join_both(tenant, speaking, logs)
        first = {t["role"]: t["track_id"] for t in tracks_of(tenant, session_id, 2)}
        needed = int(np.ceil((LEAD_SECONDS + SPEECH_SECONDS + 1) / TIMESLICE_SECONDS))
        wait_until(
            lambda: all(len(stored_parts(tenant, session_id, t)) >= needed for t in first.values()),
            timeout=LEAD_SECONDS + SPEECH_SECONDS + TAIL_SECONDS + 60,
            interval=1,
            what=f"{needed} parts of each track",
        )
        # WHEN the client reloads mid-call (its recorder dies with the page)
        client.reload()
        for page in (host, client):
            expect(page.locator("main")).to_have_attribute("data-call", "connected", timeout=CONNECT_MS)
        expect(client.locator("main")).to_have_attribute("data-call-recording", "on", timeout=CONNECT_MS)
        # THEN its earlier track is completed with every part it recorded, and a new one records
        assert_complete_and_whole(tenant, session_id, first["client"])
        tracks_of(tenant, session_id, 3)
        # WHEN the host ends the session
        host.get_by_role("button", name="End session").click()
        expect(host.locator("main")).to_have_attribute("data-call", "ended", timeout=30_000)
        # THEN every audio track is complete and whole: no part stored twice or lost
        wait_until(
            lambda: all(t["status"] == "COMPLETED" for t in audio_tracks(tenant, session_id)),
            timeout=60,
            interval=1,
            what="every audio track COMPLETED",
        )
        for track in audio_tracks(tenant, session_id):
            assert_complete_and_whole(tenant, session_id, track["track_id"])
        rid = tracks_recording_id(session_id)

        def done() -> dict[str, Any] | None:
            answer = tenant.http.get(f"/v1/recordings/{rid}")
            if answer.status_code != 200:
                return None
            body: dict[str, Any] = answer.json()
            return body if body["status"] in {"COMPLETED", "FAILED"} else None

        final = wait_until(done, timeout=PIPELINE_SECONDS, interval=2, what="the tracks' recording COMPLETED")
        assert final["status"] == "COMPLETED", final
        # AND every word is there once, under its speaker's name
        signed = tenant.http.get(f"/v1/sessions/{session_id}/summary")
        assert signed.status_code == 200, signed.text
        summary = validate_summary(signed.json()["summary"])
        assert said([u.model_dump() for u in summary.transcript]) == {
            HOST: normalize_words(LEFT),
            CLIENT: normalize_words(RIGHT),
        }
        # AND the only missing audio is the client's, while its page reloaded (after its words)
        for gap in summary.missing_audio:
            assert (gap.role, gap.reason) == ("client", "gap"), summary.missing_audio
    except BaseException:
        print("\n".join(logs[-200:]))
        raise
