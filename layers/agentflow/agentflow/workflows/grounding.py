"""Grounding checks: a summary may only say what the transcript supports.

Findings are plain sentences; the validate node hands them back to the provider on a retry, so
they say what is wrong and where ("action item 2 ('Send the contract') has owner 'Leo', who is not
a participant").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentflow.schemas.summary import SpeakerStats, Summary, Utterance
from agentflow.workflows.providers.base import Extraction

# Two or more capitalised words in a row: how a person's full name looks in an overview.
_FULL_NAME = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)+)\b")
_SPEAKER_LABEL = re.compile(r"\bSpeaker \d+\b")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_grounding(
    draft: Extraction,
    *,
    utterances: Sequence[Utterance],
    speakers: Sequence[SpeakerStats],
    title: str = "",
    overview: str = "",
    require_owners: bool = False,
    check_overview: bool = True,
) -> list[str]:
    """Return findings (empty when the draft is grounded).

    Checks: every cited utterance exists; decisions and action items cite at least one; owners are
    participants; a non-empty transcript gives a non-empty summary; the overview names no one who
    did not speak.
    """
    findings: list[str] = []
    ids = {u.id for u in utterances}
    names = {s.name for s in speakers}
    groups: list[tuple[str, Sequence[object], bool]] = [
        ("key point", draft.key_points, False),
        ("decision", draft.decisions, True),
        ("action item", draft.action_items, True),
        ("open question", draft.open_questions, False),
    ]
    for kind, items, needs_source in groups:
        for n, item in enumerate(items, start=1):
            text = _short(str(getattr(item, "text", "")))
            sources: list[str] = list(getattr(item, "sources", []))
            if needs_source and not sources:
                findings.append(f"{kind} {n} ({text!r}) cites no utterance; give the ids it comes from")
            unknown = [s for s in sources if s not in ids]
            if unknown:
                findings.append(f"{kind} {n} ({text!r}) cites utterances that do not exist: {unknown}")
    for n, action in enumerate(draft.action_items, start=1):
        if action.owner is None and require_owners:
            findings.append(f"action item {n} ({_short(action.text)!r}) has no owner")
        elif action.owner is not None and action.owner not in names:
            findings.append(
                f"action item {n} ({_short(action.text)!r}) has owner {action.owner!r}, who is not a "
                f"participant; owners must be one of {sorted(names)}"
            )
    if utterances and not (draft.key_points or draft.decisions or draft.action_items):
        findings.append("the summary is empty although the transcript is not")
    if utterances and not title.strip():
        findings.append("the title is empty")
    if check_overview and overview:
        findings.extend(_overview_findings(overview, utterances, speakers))
    return findings


def _overview_findings(
    overview: str, utterances: Sequence[Utterance], speakers: Sequence[SpeakerStats]
) -> list[str]:
    spoke = {s.name for s in speakers if s.talk_time_seconds > 0 or s.turns > 0}
    silent = [s.name for s in speakers if s.name not in spoke]
    transcript = " ".join(u.text for u in utterances).lower()
    known = " ".join(spoke).lower()
    findings = [
        f"the overview names {name!r}, who did not speak"
        for name in silent
        if name.lower() in overview.lower()
    ]
    for label in set(_SPEAKER_LABEL.findall(overview)):
        if label not in spoke:
            findings.append(f"the overview names {label!r}, who did not speak")
    for candidate in set(_FULL_NAME.findall(overview)):
        lowered = candidate.lower()
        if lowered in known or lowered in transcript or candidate in silent:
            continue
        # Sentence-initial words are capitalised anyway: only flag when every word is unknown.
        words = lowered.replace("-", " ").split()
        if all(w not in transcript and w not in known for w in words):
            findings.append(f"the overview names {candidate!r}, who does not appear in the transcript")
    return findings


def summary_findings(summary: Summary) -> list[str]:
    """Grounding findings of a finished summary, checked against its own transcript and speakers."""
    draft = Extraction(
        key_points=summary.key_points,
        decisions=summary.decisions,
        action_items=summary.action_items,
        open_questions=summary.open_questions,
    )
    return check_grounding(
        draft,
        utterances=summary.transcript,
        speakers=summary.speakers,
        title=summary.title,
        overview=summary.overview,
    )
