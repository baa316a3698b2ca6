"""Assemble: a session's tracks → one recording with one channel per participant (host 0, client 1).

Runs when the session has ended and every audio track is complete, or when the grace period for a
track that never completes is over (a delayed message, re-sent until then). The result is a normal
recording under ``recordings/…``: its upload starts ingest → transcribe/diarize per channel →
summarize, unchanged, with the recording item saying it was built from tracks (who is on which
channel, which spans of whose audio are missing).

Order matters for crash safety: the audio is built whole in a temporary folder first; then the
recording item is written (conditionally, naming the job that built it); then the object is
uploaded. A crash before the item redelivers the job, which builds again; a crash after it finds the
item PENDING_UPLOAD under its own job id and uploads again; an upload delivered twice reaches ingest
twice, which moves the recording once. Any other job finding the item leaves it alone.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.clients import client
from agentflow.aws.items import (
    ChannelParticipant,
    MissingSpan,
    RecordingItem,
    Role,
    SessionItem,
    TrackItem,
    TrackProblem,
    UsedTrack,
    VideoTrack,
)
from agentflow.schemas.messages import AssembleJob
from agentflow.services import recordings as recs
from agentflow.services import tracks as trk
from agentflow.settings import Settings
from agentflow.speech.assemble import Piece, coverage, decode_pieces, gaps, mix, write_flac
from agentflow.speech.audio import SAMPLE_RATE, AudioDecodeError
from agentflow.stages.common import context

log = logging.getLogger(__name__)

FILENAME = "tracks.flac"


@dataclass
class Built:
    """What the assembler made of a session's tracks."""

    path: Path
    duration: float  # seconds
    call_started_at_server_ms: int
    channels: list[ChannelParticipant]
    missing: list[MissingSpan]
    problems: list[TrackProblem] = field(default_factory=list)
    tracks: list[UsedTrack] = field(default_factory=list)  # what was used, per audio track
    video: list[VideoTrack] = field(default_factory=list)  # video tracks, kept in the bucket
    alignment_error_ms: int = 0


def _track_audio(
    bucket: str, track: TrackItem, *, offset_seconds: float, folder: Path, problems: list[TrackProblem]
) -> tuple[list[Piece], UsedTrack]:
    """Check, fetch and decode one audio track's stored parts; problems go to ``problems``."""
    s3 = client("s3")

    def problem(reason: str) -> None:
        problems.append({"track_id": track["track_id"], "role": track["role"], "reason": reason})
        log.warning("track %s: %s", track["track_id"], reason)

    limit_number, limit_bytes = int(track["max_part_number"]), int(track["max_part_bytes"])
    parts: dict[int, Path] = {}
    total = 0
    for number, size in trk.stored_parts(s3, bucket, track):
        # The grant bounded these; the bucket is checked again (a URL could be misused, limits change).
        if number > limit_number:
            problem(f"part {number} is beyond the track's {limit_number} parts; it was not used")
            continue
        if size > limit_bytes:
            problem(f"part {number} is {size} bytes, over the limit of {limit_bytes}; it was not used")
            continue
        obj = s3.get_object(Bucket=bucket, Key=trk.part_key(track, number))
        if obj.get("ContentType", "") != track["content_type"]:
            problem(
                f"part {number} has type {obj.get('ContentType')!r}, not {track['content_type']!r}; not used"
            )
            continue
        path = folder / f"{track['track_id']}-{number:06d}"
        path.write_bytes(obj["Body"].read())
        parts[number] = path
        total += size
    used: UsedTrack = {
        "track_id": track["track_id"],
        "role": track["role"],
        "status": track["status"],
        "part_count": int(track["part_count"]) if track.get("part_count") is not None else None,
        "parts_stored": len(parts),
        "bytes": total,
        "offset_ms": round(offset_seconds * 1000),
        "clock_error_ms": int(track["clock_error_ms"]),
    }
    if not parts:
        return [], used
    if 1 not in parts:
        problem("the first part (it carries the recorder's header) never arrived; the track was not used")
        return [], used
    runs: list[list[int]] = []
    for number in sorted(parts):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    pieces: list[Piece] = []
    for index, run in enumerate(runs):
        joined = folder / f"{track['track_id']}-run{index}.{track['extension']}"
        with joined.open("wb") as out:
            # After a gap the stream is read behind part 1 (the header); see agentflow.speech.assemble.
            for number in ([1] if run[0] != 1 else []) + run:
                out.write(parts[number].read_bytes())
        try:
            found, skipped = decode_pieces(joined, offset_seconds=offset_seconds)
        except AudioDecodeError as exc:
            problem(f"parts {run[0]}-{run[-1]} are not decodable audio ({exc})")
            continue
        if skipped:
            log.info("track %s: %d torn packets skipped at cuts", track["track_id"], skipped)
        pieces.extend(found)
    if not pieces:
        problem("the track holds no decodable audio")
    return pieces, used


def _reason(start: float, end: float, whole: float, has_audio: bool) -> str:
    if not has_audio:
        return "no_audio"
    if end >= whole - 1e-6:
        return "ends_early"
    if start <= 1e-6:
        return "starts_late"
    return "gap"


def build(session: SessionItem, tracks: list[TrackItem], settings: Settings, folder: Path) -> Built:
    """Build the two-channel recording of ``session`` from its tracks into ``folder``."""
    audio = [t for t in tracks if t["kind"] == "audio"]
    call_start = min(int(t["started_at_server_ms"]) for t in audio)
    problems: list[TrackProblem] = []
    by_role: dict[Role, list[Piece]] = {role: [] for role in trk.ROLES}
    used: list[UsedTrack] = []
    for track in sorted(audio, key=lambda t: int(t["started_at_server_ms"])):
        offset = (int(track["started_at_server_ms"]) - call_start) / 1000
        pieces, info = _track_audio(
            settings.bucket_name, track, offset_seconds=offset, folder=folder, problems=problems
        )
        by_role[track["role"]].extend(pieces)
        used.append(info)
    limit = int(settings.max_duration_seconds * SAMPLE_RATE)
    length = min(max((p.end for ps in by_role.values() for p in ps), default=0), limit)
    whole = length / SAMPLE_RATE
    channels: list[ChannelParticipant] = []
    missing: list[MissingSpan] = []
    for channel, role in enumerate(trk.ROLES):
        name = str((session.get(role) or {}).get("name") or role)
        channels.append({"channel": channel, "role": role, "name": name})
        covered = coverage(by_role[role])
        for start, end in gaps(covered, end=whole):
            missing.append(
                {
                    "role": role,
                    "name": name,
                    "channel": channel,
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "reason": _reason(start, end, whole, bool(covered)),
                }
            )
    path = folder / FILENAME
    write_flac(path, mix([by_role[r] for r in trk.ROLES], length=length))
    return Built(
        path=path,
        duration=whole,
        call_started_at_server_ms=call_start,
        channels=channels,
        missing=missing,
        problems=problems,
        tracks=used,
        video=[
            {
                "track_id": t["track_id"],
                "role": t["role"],
                "prefix": trk.track_prefix(t),
                "status": t["status"],
            }
            for t in tracks
            if t["kind"] == "video"
        ],
        alignment_error_ms=max((int(t["clock_error_ms"]) for t in audio), default=0),
    )


def _decimals(value: Any) -> Any:
    """DynamoDB takes no floats: numbers become Decimals, recursively."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return value


def _grace_left(session: SessionItem, settings: Settings) -> float:
    ended = datetime.fromisoformat(
        str(session.get("ended_at") or session["updated_at"]).replace("Z", "+00:00")
    )
    return ended.timestamp() + settings.track_grace_seconds - time.time()


def assemble_session(job: AssembleJob) -> None:
    """Build the session's recording from its tracks if it is time; otherwise wait (or re-schedule)."""
    settings, table = context()
    session = records.get_any(
        table, keys.tenant_pk(job.tenant_id), keys.session(job.session_id), kind=SessionItem
    )
    if session is None or session.get("status") != "ended":
        log.info("job %s: session is %s, nothing to assemble", job.job_id, session and session.get("status"))
        return
    tracks = trk.session_tracks(table, job.session_id)
    audio = [t for t in tracks if t["kind"] == "audio"]
    if not audio:
        log.info("job %s: no audio tracks", job.job_id)
        return
    rid = trk.tracks_recording_id(job.session_id)
    key = recs.recording_key(job.tenant_id, rid)
    existing = records.get_live(table, *key, kind=RecordingItem)
    if existing is not None and (
        existing["status"] != "PENDING_UPLOAD" or existing.get("assembled_by") != job.job_id
    ):
        log.info("job %s: the recording %s is built (%s)", job.job_id, rid, existing["status"])
        return
    open_tracks = [t["track_id"] for t in audio if t["status"] != trk.COMPLETED]
    left = _grace_left(session, settings)
    if existing is None and open_tracks and left > 0:
        if job.trigger == "grace":  # SQS delays at most 900 s: hop until the grace period is over
            trk.send_assemble_job(client("sqs"), settings, session, trigger="grace", delay=math.ceil(left))
        log.info("job %s: waiting %.0f s more for tracks %s", job.job_id, left, open_tracks)
        return
    s3_key = f"recordings/{job.tenant_id}/{job.session_id}/{rid}/{FILENAME}"
    with tempfile.TemporaryDirectory(prefix="agentflow-assemble-") as tmp:
        built = build(session, tracks, settings, Path(tmp))
        values = _decimals(
            {
                "source": "tracks",
                "assembled_by": job.job_id,
                "channel_participants": built.channels,
                "missing_audio": built.missing,
                "track_problems": built.problems,
                "tracks": built.tracks,
                "video_tracks": built.video,
                "call_started_at_server_ms": built.call_started_at_server_ms,
                "alignment_error_ms": built.alignment_error_ms,
                "assembled_duration_seconds": round(built.duration, 3),
            }
        )
        if existing is None:
            try:
                records.put_new(
                    table,
                    recs.new_recording_item(
                        tenant_id=job.tenant_id,
                        session_id=job.session_id,
                        recording_id=rid,
                        s3_key=s3_key,
                        filename=FILENAME,
                        content_type="audio/flac",
                        max_bytes=settings.max_upload_bytes,
                        **values,
                    ),
                    actor=f"stage:assemble:{job.trigger}",
                )
            except ClientError as exc:
                if not records.is_conditional_failure(exc):
                    raise
                log.info("job %s: another job built the recording first", job.job_id)
                return
        else:
            recs.transition(table, existing, to="PENDING_UPLOAD", from_=("PENDING_UPLOAD",), values=values)
        client("s3").upload_file(
            str(built.path), settings.bucket_name, s3_key, ExtraArgs={"ContentType": "audio/flac"}
        )
    log.info(
        "job %s: built %s (%.1f s, %d missing spans) from %d tracks",
        job.job_id,
        rid,
        built.duration,
        len(built.missing),
        len(built.tracks),
    )


def handle_record(record: SQSRecord) -> None:
    """Handle one assembly check."""
    assemble_session(AssembleJob.model_validate_json(record.body))
