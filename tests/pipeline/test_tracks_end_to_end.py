"""End to end on real speech: two browser-made tracks → assembled → whisper per channel → signed summary.

Every word must land under the participant whose own track carried it (name and role), and a
track that ends early must be named in the summary and the PDF with its span.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from agentflow.local.client import ApiError
from agentflow.local.stack import LocalStack
from agentflow.services.tracks import tracks_recording_id
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.workflows import validate_summary

from benchmarks.evaluation import normalize_words
from tests.pipeline.support import events_of
from tests.reliability.support import wait_for
from tests.services.tracks.conftest import Call, new_call
from tests.services.tracks.support import track_chunks
from tests.speech.test_transcribe import LEFT, RIGHT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The whole pipeline with its pollers; a track that never completes is waited for 3 s."""
    with LocalStack(environment={"TRACK_GRACE_SECONDS": "3"}) as running:
        yield running


def _said(transcript: list[dict[str, Any]]) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for utterance in transcript:
        words.setdefault(utterance["speaker"], []).extend(normalize_words(utterance["text"]))
    return words


def _run_call(call: Call, data_dir: Path, *, client_parts_lost: int = 0) -> dict[str, Any]:
    """Both pages record one channel each, upload while 'recording', the host ends; the signed summary."""
    stereo = decode(data_dir / "stereo_diarization.wav", mono=False)
    started = int(time.time() * 1000) - 6_000
    host_chunks, client_chunks = track_chunks(stereo[0]), track_chunks(stereo[1])
    kept = client_chunks[: len(client_chunks) - client_parts_lost]
    host = call.host.open_track(started_at_server_ms=started).json()["track_id"]
    guest = call.client.open_track(started_at_server_ms=started).json()["track_id"]
    for number, (a, b) in enumerate(zip(host_chunks, client_chunks, strict=True), start=1):
        call.host.upload(host, {number: a})
        if number <= len(kept):
            call.client.upload(guest, {number: b})
    assert call.host.complete(host, len(host_chunks)).status_code == 200
    if not client_parts_lost:
        assert call.client.complete(guest, len(client_chunks)).status_code == 200
    call.api.expect(200, "POST", f"/v1/sessions/{call.session_id}/end")
    rid = tracks_recording_id(call.session_id)

    def built() -> bool:
        try:
            call.api.recording(rid)
        except ApiError:
            return False
        return True

    wait_for(built, timeout=120, what="the recording built from tracks")
    final = call.api.wait(rid, timeout=900)
    assert final["status"] == "COMPLETED", final
    assert final["per_channel"] is True
    return call.api.expect(200, "GET", f"/v1/sessions/{call.session_id}/summary")


def test_each_participants_words_are_under_their_name_and_role(stack: LocalStack, data_dir: Path) -> None:
    # GIVEN a call where the host's page recorded the left channel and the client's the right
    call = new_call(stack)
    # WHEN both tracks are uploaded part by part, completed, and the session ends
    signed = _run_call(call, data_dir)
    summary = validate_summary(signed["summary"])
    # THEN the signed summary has the left words under the host's name, the right under the client's,
    # each word for word
    assert _said([u.model_dump() for u in summary.transcript]) == {
        "Dana": normalize_words(LEFT),
        "Eli": normalize_words(RIGHT),
    }
    # and every utterance carries its speaker's role
    assert {(u.speaker, u.role) for u in summary.transcript} == {("Dana", "host"), ("Eli", "client")}
    assert {(s.name, s.role) for s in summary.speakers} == {("Dana", "host"), ("Eli", "client")}
    # and no audio is reported missing
    assert summary.missing_audio == []
    # and each participant's track.uploaded was recorded
    uploaded = events_of(stack, call.session_id, "track.uploaded")
    assert sorted('"role":"host"' in e["payload"] for e in uploaded) == [False, True]


def test_a_track_that_ends_early_is_named_in_the_summary_and_the_pdf(
    stack: LocalStack, data_dir: Path
) -> None:
    # GIVEN a client whose tab died mid-call: its last two parts never arrived, it never completed
    call = new_call(stack)
    signed = _run_call(call, data_dir, client_parts_lost=2)
    summary = validate_summary(signed["summary"])
    # THEN the host's words are all there under the host's name
    said = _said([u.model_dump() for u in summary.transcript])
    assert said["Dana"] == normalize_words(LEFT)
    # and the client's words are those of the stored parts: a beginning of what they said
    heard = said.get("Eli", [])
    assert heard == normalize_words(RIGHT)[: len(heard)]
    # and the summary says the client's track ends early, and from when to when
    [gap] = summary.missing_audio
    assert (gap.name, gap.role, gap.reason) == ("Eli", "client", "ends_early")
    whole = decode(data_dir / "stereo_diarization.wav").shape[1] / SAMPLE_RATE
    assert 0 < gap.start < whole - 1.0
    assert gap.end == pytest.approx(whole, abs=0.05)
    assert "Eli (client): no audio from" in gap.note and "ends early" in gap.note
    # and so does the PDF
    pdf = httpx.get(signed["pdf_url"], timeout=30).content
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Missing audio" in text
    assert "ends early" in " ".join(text.split())
