"""The pipeline's glue: starting, advancing and failing recordings, with their webhook events.

Stages and API routes call these operations; the state rules themselves live in
``services.recordings`` and the event rules in ``services.webhooks``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agentflow.aws import records
from agentflow.aws.items import RecordingItem, SessionItem
from agentflow.services import recordings as recs
from agentflow.services.sessions import session_key
from agentflow.services.tracks import schedule_on_end
from agentflow.services.webhooks import emit_event
from agentflow.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs.client import SQSClient

log = logging.getLogger(__name__)


class Emit(Protocol):
    """Record a webhook event of ``session`` (and queue its delivery); return the event id."""

    def __call__(
        self, session: SessionItem, event_type: str, data: Mapping[str, Any], *, event_key: str
    ) -> str: ...


class Fail(Protocol):
    """Mark FAILED and emit ``summary.failed`` once; False if the recording had already ended."""

    def __call__(self, recording: RecordingItem, *, stage: str, reason: str) -> bool: ...


class MaybeStart(Protocol):
    """Start an UPLOADED recording when its session allows: auto-start, or already ended."""

    def __call__(self, session: SessionItem, recording: RecordingItem) -> bool: ...


class SessionEnded(Protocol):
    """Emit ``session.ended``, start any recording that waited for the end, queue track assembly."""

    def __call__(self, session: SessionItem) -> None: ...


class GetSessionAny(Protocol):
    """The session even when soft-deleted (the pipeline still reports on it); ``None`` if absent."""

    def __call__(self, *, tenant_id: str, session_id: str) -> SessionItem | None: ...


@dataclass(frozen=True)
class PipelineService:
    """Operations that move recordings through the pipeline."""

    maybe_start: MaybeStart
    session_ended: SessionEnded
    emit: Emit
    fail: Fail
    get_session_any: GetSessionAny


def create_pipeline_service(table: Table, sqs: SQSClient, settings: Settings) -> PipelineService:
    """Build the pipeline operations over ``table``, queueing jobs with ``sqs`` on the queues of ``settings``."""

    def emit(session: SessionItem, event_type: str, data: Mapping[str, Any], *, event_key: str) -> str:
        return emit_event(
            table,
            sqs,
            queue_url=settings.webhooks_queue_url,
            tenant_id=session["tenant_id"],
            session=session,
            event_type=event_type,
            data=data,
            event_key=event_key,
        )

    def get_session_any(*, tenant_id: str, session_id: str) -> SessionItem | None:
        """The session even when soft-deleted (the pipeline still reports on it)."""
        return records.get_any(table, *session_key(tenant_id, session_id), kind=SessionItem)

    def maybe_start(session: SessionItem, recording: RecordingItem) -> bool:
        """Start an UPLOADED recording when its session allows: auto-start, or already ended."""
        if recording["status"] != "UPLOADED":
            return False
        if session.get("status") == records.DELETED:
            return False
        if not session.get("auto_start_recording", True) and session.get("status") != "ended":
            log.info("recording %s waits for its session to end", recording["recording_id"])
            return False
        return recs.start_processing(
            table,
            sqs,
            recording,
            transcribe_queue=settings.transcribe_queue_url,
            diarize_queue=settings.diarize_queue_url,
        )

    def session_ended(session: SessionItem) -> None:
        """Emit ``session.ended``, start any recording that waited for the end, queue track assembly."""
        emit(
            session,
            "session.ended",
            {"ended_at": session.get("ended_at")},
            event_key=f"{session['session_id']}:ended",
        )
        for recording in recs.session_recordings(table, session["session_id"]):
            maybe_start(session, recording)
        if settings.assemble_queue_url:
            # The participants' tracks become the session's recording (issue 16, stages.assemble).
            schedule_on_end(table, sqs, settings, session)

    def fail(recording: RecordingItem, *, stage: str, reason: str) -> bool:
        """Mark FAILED and emit ``summary.failed`` once; False if the recording had already ended."""
        failed = recs.mark_failed(table, recording, stage=stage, reason=reason)
        if failed is None:
            return False
        log.warning("recording %s failed in %s: %s", recording["recording_id"], stage, reason)
        session = get_session_any(tenant_id=recording["tenant_id"], session_id=recording["session_id"])
        if session is not None:
            emit(
                session,
                "summary.failed",
                {"recording_id": recording["recording_id"], "stage": stage, "reason": reason},
                event_key=f"{recording['recording_id']}:summary.failed",
            )
        return True

    return PipelineService(
        maybe_start=maybe_start,
        session_ended=session_ended,
        emit=emit,
        fail=fail,
        get_session_any=get_session_any,
    )
