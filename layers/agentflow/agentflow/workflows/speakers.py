"""Talk time per speaker."""

from __future__ import annotations

from collections.abc import Sequence

from agentflow.schemas.summary import SpeakerStats, Utterance
from agentflow.workflows.providers.base import Participant


def speaker_stats(utterances: Sequence[Utterance], participants: Sequence[Participant]) -> list[SpeakerStats]:
    """Talk time (seconds), share and turns per participant, then any other speaker label, in order."""
    order = [p.name for p in participants]
    roles = {p.name: p.role for p in participants}
    known = {p.name: p for p in participants}
    talk: dict[str, float] = dict.fromkeys(order, 0.0)
    turns: dict[str, int] = dict.fromkeys(order, 0)
    for u in utterances:
        if u.speaker not in talk:
            order.append(u.speaker)
            talk[u.speaker], turns[u.speaker] = 0.0, 0
        talk[u.speaker] += max(0.0, u.end - u.start)
        turns[u.speaker] += 1
    total = sum(talk.values())
    return [
        SpeakerStats(
            name=name,
            role=roles.get(name),
            naming=known[name].naming if name in known else None,
            naming_confidence=known[name].naming_confidence if name in known else None,
            talk_time_seconds=round(talk[name], 3),
            share=round(talk[name] / total, 4) if total else 0.0,
            turns=turns[name],
        )
        for name in order
    ]
