"""Summarize: words → speakers, the LangGraph workflow, the PDF, the KMS signature, the records.

Order matters for retries: the summary JSON is written first and reused by a redelivered job
(a recomputed summary would carry other node timings, hence another hash); ids derive from the
recording, the PDF renders byte-for-byte the same, and signing the same block again returns the
stored record — so a job delivered twice or killed midway still yields one summary and one
signature.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from agentflow.aws.clients import client
from agentflow.aws.items import SessionItem
from agentflow.crypto.canonical import canonicalize, sha256_hex
from agentflow.errors import PermanentStageError, SigningError
from agentflow.ids import now_iso
from agentflow.schemas.messages import StageJob
from agentflow.schemas.summary import Summary
from agentflow.services import recordings as recs
from agentflow.services.summaries import create_summary_service
from agentflow.services.tracks import missing_audio_of
from agentflow.stages.common import StageRun, artifact_key, get_json, open_job

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

log = logging.getLogger(__name__)


def derived_id(prefix: str, recording_id: str) -> str:
    """An id of another kind for the same recording (``rec_X`` → ``sum_X``): one per recording."""
    return f"{prefix}_{recording_id.split('_', 1)[1]}"


def speaker_turns(
    transcript: dict[str, Any], diarization: dict[str, Any], session: SessionItem
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Speaker-attributed utterances and the participants, from the two artifacts."""
    from agentflow.speech.attribution import attribute

    if diarization.get("mode") == "per_channel":
        # One participant per channel: a word's channel says who spoke it, even over crosstalk
        # (where overlapping turns alone could not).
        host, guest = session["host"]["name"], session["client"]["name"]
        whole = float(transcript.get("duration") or 0.0)
        utterances = []
        for channel, name in enumerate((host, guest)):
            words = [w for w in transcript["words"] if int(w.get("channel", 0)) == channel]
            turn = [{"start": 0.0, "end": whole, "speaker": name}]
            # Clipped to, and spanning, this channel's own speech (its per-channel turns).
            own = [t for t in diarization.get("turns", []) if t["speaker"] == name]
            utterances += [u.to_dict() for u in attribute(words, turn, names={name: name}, speech=own)]
        roles = {host: "host", guest: "client"}
        for utterance in utterances:  # known for certain: each has their own channel
            utterance["role"] = roles[utterance["speaker"]]
        utterances.sort(key=lambda u: (u["start"], u["end"]))
        for number, utterance in enumerate(utterances, start=1):
            utterance["id"] = f"u{number}"
        participants = [{"name": host, "role": "host"}, {"name": guest, "role": "client"}]
        return utterances, participants
    from agentflow.speech.naming import name_utterances

    # Who: the exclusive (one speaker at a time) view; where: the overlapping one.
    turns = diarization.get("exclusive") or diarization.get("turns") or []
    speech = diarization.get("turns") or turns
    voice = diarization.get("voice")  # where a voice is heard, when the diarization measured it
    utterances = [u.to_dict() for u in attribute(transcript["words"], turns, speech=speech, voice=voice)]
    return name_utterances(utterances, host=session["host"]["name"], client=session["client"]["name"])


def _workflow_spec(table: Table, session: SessionItem) -> dict[str, Any] | None:
    workflow_id = session.get("workflow_id")
    if not workflow_id:
        return None
    from agentflow.services.workflows import create_workflow_service

    workflow = create_workflow_service(table).get_workflow(
        tenant_id=session["tenant_id"], workflow_id=workflow_id
    )
    return workflow["spec"]


def _existing_summary(bucket: str, key: str) -> dict[str, Any] | None:
    try:
        summary: dict[str, Any] = get_json(bucket, key)
        return summary
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def summarize_recording(job: StageJob) -> None:
    """Produce, sign and store the summary of one recording."""
    from agentflow.reports.pdf import render_pdf
    from agentflow.services.signatures import create_signing_service
    from agentflow.workflows import run_summary

    opened = open_job(job, statuses=("SUMMARIZING",))
    if opened is None:
        return
    settings, table, pipeline = opened.settings, opened.table, opened.pipeline
    recording, session = opened.recording, opened.session
    bucket, rid = settings.bucket_name, job.recording_id
    run = StageRun.start(table, recording, "summarize")
    s3 = client("s3")
    summary_key, pdf_key = artifact_key(rid, "summary.json"), artifact_key(rid, "report.pdf")
    try:
        # First, so a misconfigured stack fails loudly (last_error, then the DLQ) before any work.
        api_url = settings.absolute_api_url()
        summary = _existing_summary(bucket, summary_key)
        if summary is None:
            transcript = get_json(bucket, artifact_key(rid, "transcript.json"))
            diarization = get_json(bucket, artifact_key(rid, "diarization.json"))
            utterances, participants = speaker_turns(transcript, diarization, session)
            summary = run_summary(
                utterances=utterances,
                participants=participants,
                language=transcript.get("language"),
                duration=float(transcript.get("duration") or recording.get("duration_seconds") or 0.0),
                spec=_workflow_spec(table, session),
                settings=settings,
                missing_audio=missing_audio_of(recording),
            )
            # Stored as its RFC 8785 bytes: exactly what the document hash covers.
            s3.put_object(
                Bucket=bucket, Key=summary_key, Body=canonicalize(summary), ContentType="application/json"
            )
        signer = create_signing_service(table, client("kms"), key_alias=settings.signing_key_alias)
        block = signer.prepare(summary, signature_id=derived_id("sig", rid))
        # The JSON is what is hashed and signed; the PDF shows the same document, parsed.
        document = Summary.model_validate(summary)
        pdf = render_pdf(document, session, block, jwks_url=f"{api_url}/.well-known/jwks.json")
        s3.put_object(Bucket=bucket, Key=pdf_key, Body=pdf, ContentType="application/pdf")
        summary_id = derived_id("sum", rid)
        record = signer.sign(
            block=block,
            summary=summary,
            pdf_sha256=sha256_hex(pdf),
            summary_id=summary_id,
            session_id=job.session_id,
            tenant_id=job.tenant_id,
        )
    except SigningError as exc:
        pipeline.fail(recording, stage="summarize", reason=f"Signing failed: {exc.message}")
        return
    except PermanentStageError as exc:
        pipeline.fail(recording, stage="summarize", reason=exc.message)
        return
    except Exception as exc:
        run.retrying(exc)
        raise
    create_summary_service(table, s3, bucket=bucket).record(
        tenant_id=job.tenant_id,
        session_id=job.session_id,
        recording_id=job.recording_id,
        summary_id=summary_id,
        document_hash=block.document_hash,
        pdf_sha256=record["pdf_sha256"],
        signature_id=block.signature_id,
        summary_key=summary_key,
        pdf_key=pdf_key,
        actor="stage:summarize",
    )
    run.done(artifact=summary_key)
    done = recs.transition(
        table,
        recording,
        to="COMPLETED",
        from_=("SUMMARIZING",),
        values={"summary_id": summary_id, "signature_id": block.signature_id, "completed_at": now_iso()},
    )
    if done is None:
        return
    pipeline.emit(
        session,
        "summary.ready",
        {
            "recording_id": rid,
            "summary_id": summary_id,
            "signature_id": block.signature_id,
            "document_hash": block.document_hash,
            "pdf_url": f"{api_url}/v1/sessions/{job.session_id}/summary",
        },
        event_key=f"{rid}:summary.ready",
    )


def handle_record(record: SQSRecord) -> None:
    """Handle one summary job."""
    summarize_recording(StageJob.model_validate_json(record.body))
