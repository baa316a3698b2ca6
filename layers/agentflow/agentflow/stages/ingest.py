"""Ingest: check an uploaded object for real, then fan out to transcribe and diarize.

The emulator does not enforce presigned-POST conditions, and a browser can lie about what it
sends, so the object itself is checked: size, declared type, decodable audio, duration, channels.

All in one streaming pass over ranged GETs (:mod:`agentflow.aws.ranged`, :mod:`agentflow.speech.scan`):
nothing is written to ``/tmp`` and no more than one block and one decoded frame are held, so a
2 GiB, 4-hour upload fits the function's default 512 MB of ephemeral storage and its memory.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.aws.clients import client
from agentflow.aws.ranged import S3RangeReader
from agentflow.errors import PermanentStageError
from agentflow.services import recordings as recs
from agentflow.speech.audio import AudioDecodeError
from agentflow.speech.plan import plan_chunks
from agentflow.speech.scan import Scan, scan
from agentflow.stages.common import open_recording

log = logging.getLogger(__name__)


def s3_objects(body: str) -> list[tuple[str, str, int]]:
    """``(bucket, key, size)`` of each object-created record in an S3 event body.

    Keys arrive URL-encoded with ``+`` for spaces (``quote_plus``); the S3 test event has none.
    """
    event = json.loads(body)
    if event.get("Event") == "s3:TestEvent":
        return []
    return [
        (
            r["s3"]["bucket"]["name"],
            unquote_plus(r["s3"]["object"]["key"]),
            int(r["s3"]["object"].get("size", 0)),
        )
        for r in event.get("Records", [])
        if str(r.get("eventName", "")).startswith("ObjectCreated")
    ]


def check_object(path_size: int, content_type: str, max_bytes: int) -> None:
    """Reject by size and declared type before decoding anything."""
    if path_size <= 0:
        raise PermanentStageError("The uploaded file is empty (0 bytes).")
    if path_size > max_bytes:
        raise PermanentStageError(
            f"The uploaded file is {path_size} bytes, over the limit of {max_bytes} bytes."
        )
    if not recs.content_type_allowed(content_type):
        raise PermanentStageError(
            f"The uploaded file's type {content_type!r} is not an accepted audio or video type."
        )


def check_audio(source: S3RangeReader, *, max_duration: float, channel_test: bool = True) -> Scan:
    """Decode the upload once, streaming: refuse no audio, undecodable audio or too long a recording."""
    try:
        scanned = scan(source, max_duration=max_duration, channel_test=channel_test)
    except AudioDecodeError as exc:
        raise PermanentStageError(f"The upload is not decodable audio: {exc}.") from exc
    if scanned.info.duration <= 0:
        raise PermanentStageError("The recording contains no audio (duration 0 s).")
    if scanned.stopped_early or scanned.info.duration > max_duration:
        # Decoding stopped just past the limit: the true duration is longer still.
        lasts = f"{'more than ' if scanned.stopped_early else ''}{scanned.info.duration:.0f} s"
        raise PermanentStageError(f"The recording lasts {lasts}, over the limit of {max_duration:.0f} s.")
    return scanned


def ingest_object(bucket: str, key: str) -> None:
    """Check one uploaded object and move its recording on (or mark it FAILED)."""
    parsed = recs.parse_upload_key(key)
    if parsed is None:
        log.warning("ignoring object outside the recordings layout: %s", key)
        return
    opened = open_recording(
        tenant_id=parsed.tenant_id,
        session_id=parsed.session_id,
        recording_id=parsed.recording_id,
        statuses=None,
        what=f"object {key}",
    )
    if opened is None or opened.recording["s3_key"] != key:
        log.warning("no recording for object %s", key)
        return
    settings, table, pipeline = opened.settings, opened.table, opened.pipeline
    recording, session = opened.recording, opened.session
    if recording["status"] != "PENDING_UPLOAD":
        # A duplicate event, or a retry after the state moved on: finish what may be unfinished.
        pipeline.maybe_start(session, recording)
        return
    s3 = client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    # Built from the participants' own tracks: one per channel by construction, even when a
    # channel is silent (a track that never arrived), which the waveform test would reject.
    built_from_tracks = recording.get("source") == "tracks"
    try:
        check_object(int(head["ContentLength"]), head.get("ContentType", ""), int(recording["max_bytes"]))
        reader = S3RangeReader.of_head(s3, bucket=bucket, key=key, head=head)
        scanned = check_audio(
            reader, max_duration=settings.max_duration_seconds, channel_test=not built_from_tracks
        )
        info = scanned.info
        per_channel = info.channels == 2 and (built_from_tracks or scanned.per_channel)
        log.info("scanned %s: %.1f s in %d ranged GET(s)", key, info.duration, reader.gets)
    except PermanentStageError as exc:
        pipeline.fail(recording, stage="ingest", reason=exc.message)
        return
    uploaded = recs.transition(
        table,
        recording,
        to="UPLOADED",
        from_=("PENDING_UPLOAD",),
        values={
            "size_bytes": int(head["ContentLength"]),
            "duration_seconds": Decimal(str(round(info.duration, 3))),
            "channels": info.channels,
            "sample_rate": info.sample_rate,
            "codec": info.codec,
            "per_channel": per_channel,
            # Where the chunk jobs cut it (one chunk when it is short): speech.plan.
            "chunks": recs.chunks_value(
                plan_chunks(info.duration, scanned.loudness, max_seconds=settings.chunk_seconds)
            ),
        },
    )
    if uploaded is None:  # another delivery of the same event got here first
        return
    pipeline.emit(
        session,
        "recording.uploaded",
        {"recording_id": recording["recording_id"], "duration_seconds": round(info.duration, 3)},
        event_key=f"{recording['recording_id']}:uploaded",
    )
    pipeline.maybe_start(session, uploaded)


def handle_record(record: SQSRecord) -> None:
    """Handle one SQS record whose body is an S3 event."""
    for bucket, key, _size in s3_objects(record.body):
        ingest_object(bucket, key)
