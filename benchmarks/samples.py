"""Summaries to render and sign without running the pipeline, for the tests and benchmarks (not in the layer).

``summary_from_transcript`` turns a reference transcript file (``participants``, ``utterances``,
``reference``) into a summary JSON of the shape the summarize stage writes;
``synthetic_transcript`` makes a long two-party meeting of any length, ``synthetic_summary`` a valid
summary of one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentflow.schemas.summary import (
    ActionItem,
    Decision,
    KeyPoint,
    OpenQuestion,
    SpeakerStats,
    Summary,
    Utterance,
)

SPEAKERS = ("Zoë Ångström", "Дмитрий Łukasiewicz")


def _cite(utterances: list[dict[str, Any]], words: str) -> list[str]:
    """Ids of utterances sharing the most words with ``words`` (a stand-in for real grounding); the
    first utterance when none shares a word, since decisions and action items must cite one."""
    wanted = {w.lower().strip(".,") for w in words.split() if len(w) > 3}
    scored = [(len(wanted & {w.lower().strip(".,") for w in u["text"].split()}), u["id"]) for u in utterances]
    best = max(scored, default=(0, ""))
    return [best[1]] if best[0] else [utterances[0]["id"]]


def _speakers(utterances: list[dict[str, Any]], roles: Mapping[str, str]) -> list[dict[str, Any]]:
    talk: dict[str, float] = {}
    turns: dict[str, int] = {}
    for u in utterances:
        talk[u["speaker"]] = round(talk.get(u["speaker"], 0.0) + max(0.0, u["end"] - u["start"]), 2)
        turns[u["speaker"]] = turns.get(u["speaker"], 0) + 1
    total = sum(talk.values()) or 1.0
    return [
        {
            "name": name,
            "role": roles.get(name),
            "talk_time_seconds": secs,
            "share": round(secs / total, 4),
            "turns": turns[name],
        }
        for name, secs in talk.items()
    ]


def summary_from_transcript(transcript: Mapping[str, Any]) -> dict[str, Any]:
    """A summary JSON built from a reference transcript's utterances and reference answers.

    The document is what the summarize stage stores: ``Summary.model_dump(mode="json")``.
    """
    utterances = [
        {"id": u["id"], "speaker": u["speaker"], "start": u["start"], "end": u["end"], "text": u["text"]}
        for u in transcript["utterances"]
    ]
    reference = transcript.get("reference", {})
    roles = {name: role for role, name in transcript.get("participants", {}).items()}
    duration = max((u["end"] for u in utterances), default=0.0)
    decisions = [{"text": d, "sources": _cite(utterances, d)} for d in reference.get("decisions", [])]
    actions = [
        {"text": a["task"], "owner": a["owner"], "due": a.get("due"), "sources": _cite(utterances, a["task"])}
        for a in reference.get("action_items", [])
    ]
    names = " and ".join(roles)
    summary = Summary(
        title=str(transcript.get("name", "Session")).replace("-", " ").title(),
        overview=f"{names} met for {round(duration / 60)} minutes. "
        + (
            f"They agreed to {decisions[0]['text'][0].lower()}{decisions[0]['text'][1:]}."
            if decisions
            else ""
        ),
        key_points=[KeyPoint(text=u["text"], sources=[u["id"]]) for u in utterances[:3]],
        decisions=[Decision.model_validate(d) for d in decisions],
        action_items=[ActionItem.model_validate(a) for a in actions],
        open_questions=[OpenQuestion(text=q) for q in reference.get("open_questions", [])],
        speakers=[SpeakerStats.model_validate(s) for s in _speakers(utterances, roles)],
        transcript=[Utterance.model_validate(u) for u in utterances],
        language=transcript.get("language", "en"),
        duration=duration,
        workflow_id="meeting-summary-v1",
        workflow_version=1,
        provider="reference",
        model="none",
    )
    return summary.model_dump(mode="json")


def synthetic_summary(
    duration_seconds: float,
    *,
    speakers: tuple[str, str] = SPEAKERS,
    transcript: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Summary:
    """A valid summary of ``transcript`` (default ``synthetic_transcript(duration_seconds, speakers)``):
    two key points and the speakers' talk time; ``fields`` replace any other value (``title``…)."""
    utterances = synthetic_transcript(duration_seconds, speakers) if transcript is None else transcript
    values: dict[str, Any] = {
        "title": "Synthetic meeting",
        "overview": "",
        "key_points": [{"text": u["text"], "sources": [u["id"]]} for u in utterances[:2]],
        "decisions": [],
        "action_items": [],
        "open_questions": [],
        "speakers": _speakers(utterances, {}),
        "transcript": utterances,
        "language": "en",
        "duration": duration_seconds,
        "workflow_id": "meeting-summary-v1",
        "workflow_version": 1,
        "provider": "synthetic",
        "model": "none",
    }
    return Summary.model_validate({**values, **fields})


_LINES = (
    "Let's look at the numbers from last quarter before we decide anything.",
    "I think the rollout plan needs another week of testing with the pilot group.",
    "Could you send me the revised budget by Thursday so I can review it?",
    "We agreed that the support hours move to eight until six, starting next month.",
    "My main concern is the migration window; the team is small and the data set is large.",
    "That makes sense. I'll draft the customer email and share it with you tomorrow.",
)


def synthetic_transcript(
    duration_seconds: float, speakers: tuple[str, str] = SPEAKERS
) -> list[dict[str, Any]]:
    """A two-party transcript covering ``duration_seconds``, one utterance every 6 s (alternating)."""
    utterances: list[dict[str, Any]] = []
    start, index = 0.0, 0
    while start < duration_seconds:
        end = min(duration_seconds, start + 5.5)
        utterances.append(
            {
                "id": f"u{index + 1}",
                "speaker": speakers[index % 2],
                "start": round(start, 2),
                "end": round(end, 2),
                "text": _LINES[index % len(_LINES)],
            }
        )
        start, index = start + 6.0, index + 1
    return utterances
