"""The PDF report: content found by text extraction, embedded Unicode font, pagination."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from agentflow.reports.pdf import SignatureBlock, render_pdf
from agentflow.schemas.summary import Summary
from pypdf import PdfReader

from benchmarks.samples import summary_from_transcript, synthetic_summary

BLOCK = SignatureBlock(
    signature_id="sig_01jd3k4m5n6p7q8r9s0t1v2w3x",
    key_id="NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    algorithm="RS256",
    document_hash="SHA256:" + "3f" * 32,
)


def text_of(pdf: bytes) -> tuple[list[str], str]:
    """Each page's text, and all of it with whitespace collapsed (extraction breaks lines anywhere)."""
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    return pages, re.sub(r"\s+", " ", " ".join(pages))


def session_for(transcript: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": "ses_01jd3k4m5n6p7q8r9s0t1v2w3x",
        "host": {"name": transcript["participants"]["host"]},
        "client": {"name": transcript["participants"]["client"]},
        "created_at": "2025-11-25T10:00:00.000Z",
        "ended_at": "2025-11-25T10:35:00.000Z",
    }


@pytest.mark.parametrize("name", ["advisor-review", "saas-onboarding", "telehealth-followup"])
def test_the_report_holds_decisions_action_items_speakers_and_the_signature_block(
    data_dir: Path, name: str
) -> None:
    # GIVEN a realistic summary of a reference meeting
    transcript = json.loads((data_dir / "transcripts" / f"{name}.json").read_text())
    summary = Summary.model_validate(summary_from_transcript(transcript))

    # WHEN rendered
    pdf = render_pdf(summary, session_for(transcript), BLOCK)

    # THEN its text holds every decision, action item (task, owner, due), speaker and the block
    pages, text = text_of(pdf)
    assert summary.title in text and summary.overview[:60] in text
    assert summary.decisions and summary.action_items
    for decision in summary.decisions:
        assert decision.text in text
    for item in summary.action_items:
        assert item.text in text and str(item.owner) in text and (item.due or "—") in text
    for speaker in summary.speakers:
        assert speaker.name in text
    for utterance in summary.transcript[-3:]:
        assert utterance.text[:50] in text
    assert "Session 2025-11-25 10:00 UTC" in text.replace("Date ", "Session ")
    for value in (BLOCK.signature_id, BLOCK.key_id, BLOCK.document_hash, "RS256", "agentflow verify"):
        assert value in text
    assert f"Page 1 of {len(pages)}" in pages[0]


def test_unicode_names_render_with_an_embedded_truetype_font() -> None:
    # GIVEN names outside Latin-1 (which the PDF base fonts cannot show)
    names = ("Zoë Ångström", "Дмитрий Łukasiewicz")
    summary = synthetic_summary(
        60,
        speakers=names,
        title="Revisión trimestral — Ωmega",
        action_items=[{"text": "Отправить отчёт", "owner": names[1], "due": "пятница", "sources": ["u2"]}],
    )

    # WHEN rendered
    pdf = render_pdf(summary, {"host": {"name": names[0]}, "client": {"name": names[1]}}, BLOCK)

    # THEN the text comes back as written, from embedded TrueType subsets only
    _, text = text_of(pdf)
    for expected in (*names, "Revisión trimestral — Ωmega", "Отправить отчёт", "пятница"):
        assert expected in text
    fonts = {
        str(font["/BaseFont"]): font
        for page in PdfReader(io.BytesIO(pdf)).pages
        for font in (f.get_object() for f in page["/Resources"]["/Font"].values())
    }
    assert fonts and all(
        "/FontFile2" in font["/FontDescriptor"] for font in fonts.values() if "/FontDescriptor" in font
    )
    assert not any(name.endswith(("Helvetica", "Times-Roman", "Courier")) for name in fonts)


def test_a_two_hour_transcript_paginates_with_page_numbers() -> None:
    # GIVEN a generated two-hour meeting (1,200 utterances)
    summary = synthetic_summary(2 * 3600, title="Long meeting")

    # WHEN rendered
    pdf = render_pdf(summary, {"session_id": "ses_long"}, BLOCK)

    # THEN it spans many pages, each numbered "Page i of N", and the last utterance is on the last page
    pages, text = text_of(pdf)
    assert len(summary.transcript) == 1200 and len(pages) > 20
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    assert "1:59:54" in pages[-1] and "2 h 00 min" in text


def test_rendering_is_reproducible_and_shows_an_empty_summary() -> None:
    # GIVEN the summary of a recording with no speech (every list empty), and no session facts
    summary = synthetic_summary(0, title="Silent session")
    # WHEN rendered twice, and with another signature id
    first = render_pdf(summary, {}, BLOCK)
    again = render_pdf(summary, {}, BLOCK)
    other = render_pdf(summary, {}, SignatureBlock("sig_other", BLOCK.key_id, "RS256", BLOCK.document_hash))

    # THEN the same inputs give the same bytes (so a retried job gets the same pdf_sha256)
    assert first == again and first != other
    _, text = text_of(first)
    assert "Silent session" in text and "None recorded." in text and "No transcript." in text
    assert "No overview." in text and "Date unknown" in text
