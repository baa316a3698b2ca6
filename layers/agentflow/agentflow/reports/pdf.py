"""The summary report as a PDF (reportlab).

Sections: title, session facts, overview, key points, decisions, action items, open questions,
speakers with talk time, the full speaker-attributed transcript, and the signature block. Text is
set in DejaVu Sans, embedded as TrueType subsets, so names in Latin, Greek, Cyrillic, Hebrew and
Arabic scripts render (CJK glyphs are not in DejaVu). Every page carries "page N of M" and the
signature id.

The output is byte-for-byte reproducible (reportlab's ``invariant`` mode: fixed creation date and
document id), so a redelivered job that renders the same summary gets the same ``pdf_sha256``.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from agentflow.crypto.manifest import SignatureBlock
from agentflow.schemas.summary import (
    ActionItem,
    Decision,
    KeyPoint,
    OpenQuestion,
    SpeakerStats,
    Summary,
    Utterance,
)

__all__ = ["SignatureBlock", "render_pdf"]

FONT = "AgentFlowSans"
FONT_BOLD = "AgentFlowSans-Bold"
FONT_MONO = "AgentFlowMono"
_FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf", FONT_MONO: "DejaVuSansMono.ttf"}
# Where DejaVu ships: matplotlib's wheel (a pinned dependency), then Debian's fonts-dejavu-core.
_FONT_DIRS = ("matplotlib:mpl-data/fonts/ttf", "/usr/share/fonts/truetype/dejavu")

VERIFY_COMMAND = "agentflow verify summary.json --signature signature.json --jwks jwks.json --pdf report.pdf"

_MARGIN = 18 * mm
_ACCENT = colors.HexColor("#1f3a5f")
_RULE = colors.HexColor("#c8d0da")
_SHADE = colors.HexColor("#eef2f6")

Cited = KeyPoint | Decision | ActionItem | OpenQuestion  # every item cites utterance ids (sources)


def _font_dir() -> Path:
    for candidate in _FONT_DIRS:
        if candidate.startswith("matplotlib:"):
            spec = importlib.util.find_spec("matplotlib")  # locates the package without importing it
            if spec is None or not spec.submodule_search_locations:
                continue
            path = Path(next(iter(spec.submodule_search_locations))) / candidate.split(":", 1)[1]
        else:
            path = Path(candidate)
        if all((path / name).is_file() for name in _FONT_FILES.values()):
            return path
    raise RuntimeError(f"DejaVu TrueType fonts not found in {', '.join(_FONT_DIRS)} (install matplotlib)")


@lru_cache(maxsize=1)
def register_fonts() -> Path:
    """Register the embedded fonts with reportlab once per process; return their folder."""
    folder = _font_dir()
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / filename)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    return folder


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, alignment=TA_LEFT)
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=18, leading=22, textColor=_ACCENT
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=12.5,
            leading=16,
            spaceBefore=10,
            spaceAfter=4,
            textColor=_ACCENT,
            keepWithNext=1,
        ),
        "body": body,
        "bullet": ParagraphStyle(
            "bullet", parent=body, leftIndent=12, bulletIndent=2, spaceAfter=2, bulletFontName=FONT
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11.5),
        "head": ParagraphStyle("head", parent=body, fontName=FONT_BOLD, fontSize=9, leading=11.5),
        "mono": ParagraphStyle("mono", parent=body, fontName=FONT_MONO, fontSize=8, leading=10.5),
        "utterance": ParagraphStyle(
            "utterance",
            parent=body,
            fontSize=9,
            leading=12,
            leftIndent=46,
            firstLineIndent=-46,
            spaceAfter=2.5,
        ),
        "muted": ParagraphStyle(
            "muted", parent=body, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555")
        ),
    }


def _text(value: Any) -> str:
    """Escape any value for a reportlab Paragraph (which parses a small XML dialect)."""
    return escape("" if value is None else str(value))


def clock(seconds: float) -> str:
    """``H:MM:SS`` (or ``M:SS`` under an hour) for a time in seconds."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _human_duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _name(party: Any) -> str:
    return str(party.get("name") or "") if isinstance(party, Mapping) else ""


def _cited_times(item: Cited, starts: Mapping[str, float]) -> str:
    times = [clock(starts[i]) for i in item.sources if i in starts]
    return f" <font color='#666666'>[{', '.join(times)}]</font>" if times else ""


def _section(title: str, styles: Mapping[str, ParagraphStyle]) -> Paragraph:
    return Paragraph(_text(title), styles["h2"])


def _bullets(
    items: Sequence[Cited], styles: Mapping[str, ParagraphStyle], starts: Mapping[str, float]
) -> list[Flowable]:
    out: list[Flowable] = [
        Paragraph(_text(item.text) + _cited_times(item, starts), styles["bullet"], bulletText="•")
        for item in items
    ]
    return out or [Paragraph("None recorded.", styles["muted"])]


def _table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),  # tables default to Helvetica for their own text
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, _RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), _SHADE))
    table.setStyle(TableStyle(style))
    return table


def _session_facts(
    summary: Summary, session: Mapping[str, Any], styles: Mapping[str, ParagraphStyle], width: float
) -> Table:
    started = _parse_time(session.get("started_at")) or _parse_time(session.get("created_at"))
    facts = [
        ("Host", _name(session.get("host"))),
        ("Client", _name(session.get("client"))),
        ("Date", started.strftime("%Y-%m-%d %H:%M UTC") if started else "unknown"),
        ("Duration", _human_duration(summary.duration)),
        ("Language", summary.language or "unknown"),
        ("Session", str(session.get("session_id", ""))),
    ]
    rows = [[Paragraph(_text(k), styles["head"]), Paragraph(_text(v), styles["cell"])] for k, v in facts]
    return _table(rows, [30 * mm, width - 30 * mm], header=False)


def _action_items(
    items: Sequence[ActionItem],
    styles: Mapping[str, ParagraphStyle],
    starts: Mapping[str, float],
    width: float,
) -> Flowable:
    if not items:
        return Paragraph("None recorded.", styles["muted"])
    rows: list[list[Any]] = [[Paragraph(h, styles["head"]) for h in ("Owner", "Task", "Due")]]
    for item in items:
        rows.append(
            [
                Paragraph(_text(item.owner or "unassigned"), styles["cell"]),
                Paragraph(_text(item.text) + _cited_times(item, starts), styles["cell"]),
                Paragraph(_text(item.due or "—"), styles["cell"]),
            ]
        )
    return _table(rows, [38 * mm, width - 38 * mm - 32 * mm, 32 * mm])


def _speakers(
    speakers: Sequence[SpeakerStats], styles: Mapping[str, ParagraphStyle], width: float
) -> Flowable:
    if not speakers:
        return Paragraph("None recorded.", styles["muted"])
    rows: list[list[Any]] = [
        [Paragraph(h, styles["head"]) for h in ("Speaker", "Role", "Talk time", "Share")]
    ]
    for s in speakers:
        rows.append(
            [
                Paragraph(_text(s.name), styles["cell"]),
                Paragraph(_text(s.role or ""), styles["cell"]),
                Paragraph(clock(s.talk_time_seconds), styles["cell"]),
                Paragraph(f"{100 * s.share:.0f}%", styles["cell"]),
            ]
        )
    return _table(rows, [width - 90 * mm, 40 * mm, 25 * mm, 25 * mm])


def _transcript(transcript: Sequence[Utterance], styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    if not transcript:
        return [Paragraph("No transcript.", styles["muted"])]
    return [
        Paragraph(
            f"<font name='{FONT_MONO}' size='8' color='#666666'>{clock(u.start)}</font>"
            f"&nbsp;&nbsp;<b>{_text(u.speaker)}</b>"
            + (f" <font size='8' color='#666666'>({_text(u.role)})</font>" if u.role else "")
            + f": {_text(u.text)}",
            styles["utterance"],
        )
        for u in transcript
    ]


def _signature_block(
    block: SignatureBlock, styles: Mapping[str, ParagraphStyle], jwks_url: str, width: float
) -> Flowable:
    rows = [
        ("Signature ID", block.signature_id),
        ("Key ID (kid)", block.key_id),
        ("Algorithm", f"{block.algorithm} (RSASSA-PKCS1-v1_5, SHA-256), AWS KMS"),
        ("Document hash", block.document_hash),
    ]
    table = _table(
        [[Paragraph(_text(k), styles["head"]), Paragraph(_text(v), styles["mono"])] for k, v in rows],
        [32 * mm, width - 32 * mm],
        header=False,
    )
    keys_at = f" at <b>{_text(jwks_url)}</b>" if jwks_url else " at <b>/.well-known/jwks.json</b> of the API"
    how = (
        "<b>How to verify.</b> The document hash is the SHA-256 of the summary JSON in RFC 8785 "
        "canonical form. The signature is a compact JWS (RS256) over a manifest holding that hash, the "
        "SHA-256 of this PDF file, and the ids above; it is stored as the signature record "
        "(signature.json), not printed here, because this file's own hash is what it signs. Fetch the "
        f"public keys{keys_at} and run: <font name='{FONT_MONO}' size='8'>{_text(VERIFY_COMMAND)}</font>. "
        "Any change to the summary, this PDF or the manifest makes the check fail. An openssl-only "
        "recipe is in the AgentFlow documentation (docs/SIGNING.md)."
    )
    return KeepTogether([table, Spacer(1, 4), Paragraph(how, styles["body"])])


def _canvas_class(footer: str) -> type[canvas.Canvas]:
    """A canvas that writes "page N of M" on every page (M is known only once all pages are laid out)."""

    class NumberedCanvas(canvas.Canvas):  # type: ignore[misc]  # reportlab ships no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's method name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(FONT, 7.5)
                self.setFillColor(colors.HexColor("#777777"))
                width, _ = self._pagesize
                self.drawString(_MARGIN, 10 * mm, footer)
                self.drawRightString(width - _MARGIN, 10 * mm, f"Page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def render_pdf(
    summary: Summary,
    session: Mapping[str, Any],
    signature: SignatureBlock,
    *,
    jwks_url: str = "",
) -> bytes:
    """Render the summary report.

    Args:
        summary: the summary document (``Summary.model_validate`` of the stored JSON); empty lists
            are shown as "None recorded".
        session: the stored session item (``session_id``, ``host.name``, ``client.name``,
            ``created_at``, optional ``started_at``).
        signature: the block from ``SigningService.prepare`` (known before signing).
        jwks_url: where auditors fetch the public keys (printed in the verification note).

    Returns:
        The PDF file's bytes (reproducible for the same inputs).
    """
    styles = _styles()
    starts = {u.id: u.start for u in summary.transcript}
    buffer = io.BytesIO()
    title = summary.title
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 4 * mm,
        title=title,
        author="AgentFlow",
        subject=f"Signed summary {signature.signature_id}",
        invariant=True,
        initialFontName=FONT,  # else every page also references Helvetica
    )
    width = doc.width
    story: list[Flowable] = [
        Paragraph(_text(title), styles["title"]),
        Spacer(1, 6),
        _session_facts(summary, session, styles, width),
        _section("Overview", styles),
        Paragraph(_text(summary.overview or "No overview."), styles["body"]),
        _section("Key points", styles),
        *_bullets(summary.key_points, styles, starts),
        _section("Decisions", styles),
        *_bullets(summary.decisions, styles, starts),
        _section("Action items", styles),
        _action_items(summary.action_items, styles, starts, width),
    ]
    if summary.open_questions:
        story += [_section("Open questions", styles), *_bullets(summary.open_questions, styles, starts)]
    if summary.missing_audio:
        # Recordings built from the participants' own tracks say whose audio is missing, and when.
        story += [
            _section("Missing audio", styles),
            *[Paragraph(f"• {_text(m.note)}", styles["body"]) for m in summary.missing_audio],
        ]
    story += [
        _section("Speakers", styles),
        _speakers(summary.speakers, styles, width),
        _section("Signature", styles),
        _signature_block(signature, styles, jwks_url, width),
        _section("Transcript", styles),
        *_transcript(summary.transcript, styles),
    ]
    footer = f"AgentFlow signed summary · {signature.signature_id} · key {signature.key_id[:16]}…"
    doc.build(story, canvasmaker=_canvas_class(footer))
    return buffer.getvalue()
