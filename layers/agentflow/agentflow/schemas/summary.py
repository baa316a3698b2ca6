"""The summary document (JSON in S3, hashed and signed), versioned by ``schema_version``.

Every decision and action item cites the utterances it comes from; the model checks that those
utterances exist in the summary's own transcript and that owners are speakers of the session, so a
stored summary can be re-validated on its own (``Summary.model_validate(json)``).
Version 1.0; a breaking change gets a new ``schema_version`` literal and a new model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Literal["1.0"] = "1.0"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Utterance(_Strict):
    """One speaker turn of the transcript; times in seconds from the start of the recording."""

    id: str = Field(..., min_length=1, max_length=64)
    speaker: str = Field(..., min_length=1, max_length=200)
    start: float = Field(..., ge=0)
    end: float = Field(..., ge=0)
    text: str
    role: Literal["host", "client"] | None = Field(
        default=None, description="the speaker's role, when known for certain (their own audio channel)"
    )


class KeyPoint(_Strict):
    """A salient point of the conversation."""

    text: str = Field(..., min_length=1)
    sources: list[str] = Field(default_factory=list, description="ids of the utterances it comes from")


class Decision(_Strict):
    """Something the participants settled."""

    text: str = Field(..., min_length=1)
    sources: list[str] = Field(..., min_length=1)


class ActionItem(_Strict):
    """A task someone took on or was asked to do."""

    text: str = Field(..., min_length=1)
    owner: str | None = Field(default=None, description="a speaker's name; None when nobody took it")
    due: str | None = Field(default=None, description="the due date as stated ('Friday', 'next Monday')")
    sources: list[str] = Field(..., min_length=1)


class OpenQuestion(_Strict):
    """A question the meeting left open."""

    text: str = Field(..., min_length=1)
    sources: list[str] = Field(default_factory=list)


NamingMethod = Literal["channel", "conversation", "unknown"]


class SpeakerStats(_Strict):
    """A participant and how much they spoke, and how the speaker got that name."""

    name: str
    role: str | None = None
    naming: NamingMethod | None = Field(
        default=None,
        description="channel: their own audio channel; conversation: what was said (introductions, "
        "being addressed by name); unknown: not linked to a participant (the name is 'Speaker N')",
    )
    naming_confidence: float | None = Field(
        default=None, ge=0, le=1, description="confidence of a conversation naming"
    )
    talk_time_seconds: float = Field(..., ge=0)
    share: float = Field(..., ge=0, le=1, description="fraction of all talk time")
    turns: int = Field(..., ge=0)


class MissingAudio(_Strict):
    """A span where a participant's own track has no audio (recordings built from tracks only)."""

    name: str
    role: Literal["host", "client"]
    start: float = Field(..., ge=0, description="seconds from the start of the recording")
    end: float = Field(..., ge=0)
    reason: Literal["no_audio", "starts_late", "ends_early", "gap"]
    note: str = Field(..., description="the same in words, for readers of the summary and the PDF")


class NodeTiming(_Strict):
    """Wall time of one node execution (a node that ran twice, on a retry, appears twice)."""

    node: str
    seconds: float = Field(..., ge=0)


class Summary(_Strict):
    """The summary of one recorded session."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    title: str = Field(..., min_length=1)
    overview: str
    key_points: list[KeyPoint]
    decisions: list[Decision]
    action_items: list[ActionItem]
    open_questions: list[OpenQuestion]
    speakers: list[SpeakerStats]
    transcript: list[Utterance]
    language: str
    duration: float = Field(..., ge=0, description="seconds")
    workflow_id: str
    workflow_version: int
    provider: str
    model: str
    fallback_used: bool = False
    findings: list[str] = Field(
        default_factory=list, description="validation findings of the last attempt (empty when it passed)"
    )
    timings: list[NodeTiming] = Field(default_factory=list)
    missing_audio: list[MissingAudio] = Field(
        default_factory=list, description="whose audio is missing and for which span (per-participant tracks)"
    )

    @model_validator(mode="after")
    def _grounded(self) -> Summary:
        ids = {u.id for u in self.transcript}
        names = {s.name for s in self.speakers}
        kinds: tuple[tuple[str, list[KeyPoint] | list[Decision] | list[ActionItem] | list[OpenQuestion]], ...]
        kinds = (
            ("key point", self.key_points),
            ("decision", self.decisions),
            ("action item", self.action_items),
            ("open question", self.open_questions),
        )
        for kind, items in kinds:
            for item in items:
                missing = [s for s in item.sources if s not in ids]
                if missing:
                    raise ValueError(f"{kind} {item.text!r} cites unknown utterances {missing}")
        for action in self.action_items:
            if action.owner is not None and action.owner not in names:
                raise ValueError(f"action item {action.text!r} has owner {action.owner!r}, not a speaker")
        if self.transcript and not (self.key_points or self.decisions or self.action_items):
            raise ValueError("the summary of a non-empty transcript is empty")
        return self
