"""Track API bodies (``/v1/sessions/{id}/tracks``, docs/CALL.md "Tracks").

A track is one MediaRecorder run of one participant's microphone (``audio``) or camera
(``video``); a reload starts a new track of the same participant. Each recorder chunk is one part,
stored as its own small object (see docs/CALL.md for why parts are not S3 multipart parts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TrackKind = Literal["audio", "video"]
TrackStatus = Literal["RECORDING", "COMPLETED"]

# MediaRecorder's timeslice bounds: at most 10 s of audio is lost when a tab dies (issue 16), and
# at least 1 s keeps the request rate sane (one grant and one PUT per part).
MIN_TIMESLICE_MS = 1_000
MAX_TIMESLICE_MS = 10_000
MAX_PARTS_PER_GRANT = 20


class CreateTrackRequest(BaseModel):
    """``POST /v1/sessions/{id}/tracks``: a recorder has started (the role comes from the join token)."""

    model_config = ConfigDict(extra="forbid")

    kind: TrackKind
    content_type: str = Field(
        ...,
        min_length=3,
        max_length=100,
        description="MediaRecorder.mimeType, e.g. `audio/webm;codecs=opus`.",
    )
    timeslice_ms: int = Field(
        default=5_000,
        ge=MIN_TIMESLICE_MS,
        le=MAX_TIMESLICE_MS,
        description="The recorder's timeslice: each part holds at most this much media.",
    )
    started_at_server_ms: int = Field(
        ..., ge=0, description="When the recorder started, on the server's clock (ping/pong clock sync)."
    )
    clock_error_ms: int = Field(
        ..., ge=0, le=60_000, description="The clock estimate's error bound (half the best round trip)."
    )


class TrackResponse(BaseModel):
    """One track as the API shows it."""

    track_id: str
    session_id: str
    role: Literal["host", "client"]
    kind: TrackKind
    content_type: str
    status: TrackStatus
    timeslice_ms: int
    started_at_server_ms: int
    clock_error_ms: int
    max_part_number: int = Field(..., description="Part numbers run 1..max_part_number (the duration limit).")
    max_part_bytes: int
    part_count: int | None = Field(default=None, description="Parts the recorder made, given at complete.")
    created_at: datetime
    completed_at: datetime | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TrackResponse:
        """Build from the stored item (DynamoDB numbers arrive as Decimal)."""
        data = {k: v for k, v in item.items() if k in cls.model_fields}
        for key in (
            "timeslice_ms",
            "started_at_server_ms",
            "clock_error_ms",
            "max_part_number",
            "max_part_bytes",
        ):
            data[key] = int(data[key])
        if data.get("part_count") is not None:
            data["part_count"] = int(data["part_count"])
        return cls.model_validate(data)


class TrackPage(BaseModel):
    """``GET /v1/sessions/{id}/tracks``: the caller's tracks (a join token) or all (an API key)."""

    items: list[TrackResponse]


class PartSize(BaseModel):
    """A part the page is about to send."""

    model_config = ConfigDict(extra="forbid")

    part_number: int = Field(..., ge=1)
    size_bytes: int = Field(..., ge=1, description="The chunk's exact size: it is signed into the URL.")


class PartUrlsRequest(BaseModel):
    """``POST /v1/sessions/{id}/tracks/{track_id}/parts``."""

    model_config = ConfigDict(extra="forbid")

    parts: list[PartSize] = Field(..., min_length=1, max_length=MAX_PARTS_PER_GRANT)


class PartUrl(BaseModel):
    """A presigned PUT for one part: send the chunk as the body with exactly these headers."""

    part_number: int
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime


class PartUrlsResponse(BaseModel):
    """The part grants."""

    parts: list[PartUrl]


class StoredPart(BaseModel):
    """A part already in the bucket."""

    part_number: int
    size_bytes: int


class StoredPartsResponse(BaseModel):
    """``GET /v1/sessions/{id}/tracks/{track_id}/parts``: what a reloaded page need not send again."""

    track_id: str
    parts: list[StoredPart]
    missing: list[int] = Field(..., description="Numbers below the highest stored part that are not stored.")


class CompleteTrackRequest(BaseModel):
    """``POST /v1/sessions/{id}/tracks/{track_id}/complete``: the recorder stopped after ``part_count`` parts."""

    model_config = ConfigDict(extra="forbid")

    part_count: int = Field(..., ge=0)
