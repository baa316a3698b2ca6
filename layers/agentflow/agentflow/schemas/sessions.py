"""Session API bodies (the seed's schemas, extended)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SessionStatus = Literal["scheduled", "ended", "DELETED"]

# faster-whisper keeps at most 223 tokens of hotwords (half its context); 600 characters of terms
# plus two names stay under that for English text (about 4 characters a token).
VOCABULARY_TERMS: Final = 50
VOCABULARY_TERM_CHARS: Final = 64
VOCABULARY_CHARS: Final = 600
VocabularyTerm = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=VOCABULARY_TERM_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class ParticipantSchema(BaseModel):
    """One side of a two-party session."""

    # strict: JSON types as the spec says them (no 0 for false, no "3" for 3).
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(..., min_length=1, max_length=100)
    external_user_id: str | None = Field(default=None, max_length=200)


class CreateSessionRequest(BaseModel):
    """``POST /v1/sessions``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    host: ParticipantSchema
    client: ParticipantSchema
    auto_start_recording: bool = True
    webhook_url: str | None = Field(default=None, min_length=1, max_length=2048)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$", description="ISO 639-1 hint")
    num_speakers: int | None = Field(default=None, ge=1, le=20)
    min_speakers: int | None = Field(default=None, ge=1, le=20)
    max_speakers: int | None = Field(default=None, ge=1, le=20)
    workflow_id: str | None = Field(default=None, min_length=1, max_length=64)
    vocabulary: list[VocabularyTerm] | None = Field(
        default=None,
        max_length=VOCABULARY_TERMS,
        description="names, products and jargon the recording is likely to contain; given to the "
        "speech recogniser as hotwords, after the participants' names (which are always included)",
    )

    @model_validator(mode="after")
    def _speaker_bounds(self) -> CreateSessionRequest:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        return self

    @model_validator(mode="after")
    def _vocabulary_size(self) -> CreateSessionRequest:
        if self.vocabulary and sum(len(term) + 1 for term in self.vocabulary) > VOCABULARY_CHARS:
            raise ValueError(f"vocabulary must total at most {VOCABULARY_CHARS} characters")
        return self


class WidgetUrls(BaseModel):
    """Widget URLs, each carrying its participant's join token."""

    host: str
    client: str


class RecordingSummary(BaseModel):
    """A recording as the session view shows it."""

    recording_id: str
    status: str
    failure_reason: str | None = None


class SessionResponse(BaseModel):
    """A session as the API returns it."""

    session_id: str
    status: SessionStatus
    host: ParticipantSchema
    client: ParticipantSchema
    auto_start_recording: bool
    webhook_url: str | None = None
    language: str | None = None
    workflow_id: str | None = None
    vocabulary: list[str] | None = None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    recordings: list[RecordingSummary] = Field(default_factory=list)
    signaling_url: str | None = Field(
        default=None, description="The call's WebSocket URL (docs/CALL.md): connect with ?token=<join token>."
    )


class CreateSessionResponse(SessionResponse):
    """``POST /v1/sessions`` → 201."""

    widget_urls: WidgetUrls


class SessionPage(BaseModel):
    """One page of ``GET /v1/sessions``."""

    items: list[SessionResponse]
    next_cursor: str | None = None
