"""Queue messages between stages. Every message carries a ``job_id`` set by its producer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Stage = Literal["transcribe", "diarize", "summarize"]


class ChunkSpan(BaseModel):
    """One chunk of a recording's plan (``speech.plan``): seconds ``[start, end)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(ge=0)


class StageJob(BaseModel):
    """A unit of work for transcribe, diarize or summarize: one recording, or one chunk of it.

    A recording cut into several chunks (issue 19) has one transcribe and one diarize job per
    chunk; ``chunk`` names the span and ``chunks`` how many the plan has. Summarize is always one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # "{recording_id}:{stage}", or "{recording_id}:{stage}:{index}" for a chunk: the same job
    # however often it is delivered
    job_id: str
    stage: Stage
    tenant_id: str
    session_id: str
    recording_id: str
    chunk: ChunkSpan | None = None
    chunks: int = Field(default=1, ge=1)

    @property
    def where(self) -> str:
        """The chunk, for reasons and logs ("" for a whole recording)."""
        if self.chunk is None or self.chunks == 1:
            return ""
        return (
            f"chunk {self.chunk.index + 1} of {self.chunks} ({self.chunk.start:.0f}-{self.chunk.end:.0f} s)"
        )


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
