"""What a recording built from tracks adds to the summary and the PDF: roles and missing audio."""

from __future__ import annotations

import io
from decimal import Decimal

from agentflow.reports.pdf import SignatureBlock, render_pdf
from agentflow.schemas.summary import MissingAudio, Utterance
from agentflow.services.tracks import missing_audio_of
from pypdf import PdfReader

from benchmarks.samples import synthetic_summary

BLOCK = SignatureBlock("sig_x", "kid-1", "RS256", "SHA256:" + "ab" * 32)


def test_missing_spans_of_a_built_recording_become_summary_entries_with_a_sentence() -> None:
    # GIVEN a recording item as the assembler stores it (DynamoDB numbers are Decimals)
    recording = {
        "missing_audio": [
            {
                "role": "client",
                "name": "Eli",
                "channel": 1,
                "start": Decimal("42.5"),
                "end": Decimal("61.0"),
                "reason": "ends_early",
            },
        ]
    }
    # WHEN it becomes the summary's missing_audio
    [entry] = missing_audio_of(recording)
    # THEN it validates and says whose audio is missing, when, and why
    gap = MissingAudio.model_validate(entry)
    assert (gap.name, gap.role, gap.start, gap.end, gap.reason) == ("Eli", "client", 42.5, 61.0, "ends_early")
    assert (
        gap.note
        == "Eli (client): no audio from 0:42 to 1:01: their track ends early (its last parts never arrived)."
    )
    # and a recording uploaded in one piece has none
    assert missing_audio_of({"s3_key": "recordings/…"}) == []


def test_utterance_roles_are_optional_and_checked() -> None:
    assert Utterance(id="u1", speaker="Dana", start=0, end=1, text="hi").role is None
    assert Utterance(id="u1", speaker="Dana", start=0, end=1, text="hi", role="host").role == "host"


def test_the_pdf_shows_roles_and_a_missing_audio_section() -> None:
    # GIVEN a summary with a role on each utterance and a missing span
    [gap] = missing_audio_of(
        {"missing_audio": [{"role": "client", "name": "Eli", "start": 3, "end": 5, "reason": "ends_early"}]}
    )
    summary = synthetic_summary(
        2,
        title="Call",
        transcript=[
            {"id": "u1", "speaker": "Dana", "role": "host", "start": 0, "end": 1, "text": "Hello there."},
            {"id": "u2", "speaker": "Eli", "role": "client", "start": 1, "end": 2, "text": "Hi."},
        ],
        missing_audio=[gap],
    )
    # WHEN it is rendered
    pdf = render_pdf(summary, {"host": {"name": "Dana"}, "client": {"name": "Eli"}}, BLOCK)
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)
    # THEN the section names whose audio is missing and for which span, and each speaker's role shows
    assert "Missing audio" in text
    assert "Eli (client): no audio from 0:03 to 0:05: their track ends early" in text
    assert "Dana (host): Hello there." in text
    assert "Eli (client): Hi." in text
