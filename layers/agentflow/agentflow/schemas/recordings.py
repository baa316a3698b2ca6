"""Recording API bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RecordingStatus = Literal["PENDING_UPLOAD", "UPLOADED", "PROCESSING", "SUMMARIZING", "COMPLETED", "FAILED"]


class CreateRecordingRequest(BaseModel):
    """``POST /v1/sessions/{id}/recordings``: what the browser is about to upload."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(default="recording.webm", min_length=1, max_length=200)
    content_type: str = Field(default="video/webm", min_length=3, max_length=100)


class PresignedPost(BaseModel):
    """A presigned S3 POST: send ``fields`` plus the file as multipart/form-data to ``url``."""

    url: str
    fields: dict[str, str]
    method: Literal["POST"] = "POST"


class CreateRecordingResponse(BaseModel):
    """The upload grant."""

    recording_id: str
    upload: PresignedPost
    expires_at: datetime
    max_bytes: int


class ChunkProgress(BaseModel):
    """How many of an analysis stage's chunk jobs are done (issue 19: long recordings are cut)."""

    total: int
    done: int


class StageProgress(BaseModel):
    """One stage's progress.

    ``status`` is QUEUED, RUNNING, RETRYING or DONE. An analysis stage (transcribe, diarize) has
    ``chunks``; ``seconds`` is its wall time from the first chunk's start to the merged artifact.
    """

    status: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    seconds: float | None = None
    attempts: int = 0
    last_error: str | None = None
    chunks: ChunkProgress | None = None


class RecordingResponse(BaseModel):
    """``GET /v1/recordings/{id}``."""

    recording_id: str
    session_id: str
    status: RecordingStatus
    filename: str
    content_type: str
    size_bytes: int | None = None
    duration_seconds: float | None = None
    channels: int | None = None
    sample_rate: int | None = None
    per_channel: bool | None = None
    stages: dict[str, StageProgress] = Field(default_factory=dict)
    failure_reason: str | None = None
    failed_stage: str | None = None
    summary_id: str | None = None
    signature_id: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> RecordingResponse:
        """Build from the stored item (DynamoDB numbers arrive as Decimal)."""
        data = {k: v for k, v in item.items() if k in cls.model_fields}
        for key in ("size_bytes", "channels", "sample_rate"):
            if data.get(key) is not None:
                data[key] = int(data[key])
        if data.get("duration_seconds") is not None:
            data["duration_seconds"] = float(data["duration_seconds"])
        return cls.model_validate(data)
