"""Queue messages between stages. Every message carries a ``job_id`` set by its producer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Stage = Literal["transcribe", "diarize", "summarize"]


class StageJob(BaseModel):
    """A unit of work for transcribe, diarize or summarize: one recording."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str  # "{recording_id}:{stage}" — the same job however often it is delivered
    stage: Stage
    tenant_id: str
    session_id: str
    recording_id: str


class WebhookJob(BaseModel):
    """One webhook event to deliver (the event itself is stored; this points at it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str  # the delivery id
    tenant_id: str
    delivery_id: str
    attempt: int = 1


class AssembleJob(BaseModel):
    """Build a session's recording from its participants' tracks (re-checked on every delivery)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str  # "{session_id}:assemble:{trigger}[:{track_id}]"
    tenant_id: str
    session_id: str
    # ended: the session just ended; completed: a track completed after the end; grace: the wait
    # for tracks that never complete is over (a delayed message, re-sent until it is).
    trigger: Literal["ended", "completed", "grace"]
