"""The DLQ handler names the stage from the message, on queues named as CloudFormation names them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from agentflow.aws.clients import client, table
from agentflow.local.client import ApiClient
from agentflow.local.stack import LocalStack
from agentflow.schemas.messages import AssembleJob, StageJob
from agentflow.services.tenants import create_tenant_service
from agentflow.stages.failures import UnknownDeadLetterError, dead_letter_of

from tests.pipeline.support import events_of
from tests.reliability.support import wait_for

CFN_QUEUE_NAME = re.compile(r"^agentflow-[0-9a-f]{8}-(?P<logical>[A-Za-z]+)-[A-Z0-9]{13}$")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The API and only the DLQ handler's pollers: nothing else moves the recordings on."""
    with LocalStack(functions={"failures"}) as running:
        yield running


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> Any:
    return create_tenant_service(table(stack.ref("Table"))).create_tenant("dlq")


@pytest.fixture(scope="module")
def integrator(stack: LocalStack, tenant: Any) -> ApiClient:
    return ApiClient(api_url=stack.api_url, api_key=tenant.api_key)


def _upload_event_body(stack: LocalStack) -> str:
    """The S3 event S3 itself queued for the last upload (the test event skipped)."""
    sqs, found = client("sqs"), []

    def received() -> bool:
        for m in sqs.receive_message(QueueUrl=stack.ref("IngestQueue"), MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=stack.ref("IngestQueue"), ReceiptHandle=m["ReceiptHandle"])
            if "Records" in json.loads(m["Body"]):
                found.append(str(m["Body"]))
        return bool(found)

    wait_for(received, timeout=30, what="the upload's S3 event")
    return found[-1]


def test_every_dead_letter_queue_has_a_cloudformation_name(stack: LocalStack) -> None:
    for logical_id in ("IngestDLQ", "TranscribeDLQ", "DiarizeDLQ", "SummarizeDLQ", "AssembleDLQ"):
        name = stack.ref(logical_id).rsplit("/", 1)[-1]
        match = CFN_QUEUE_NAME.match(name)
        assert match and match["logical"] == logical_id, name


def test_a_dead_stage_job_fails_its_recording_naming_its_stage(
    stack: LocalStack, integrator: ApiClient, tenant: Any
) -> None:
    # GIVEN a recording and a transcribe job for it, dead-lettered into the CloudFormation-named DLQ
    session = integrator.create_session()
    recording_id = integrator.upload(
        session["session_id"], b"RIFF", filename="a.wav", content_type="audio/wav"
    )
    _upload_event_body(stack)  # not ingested: nothing but the DLQ handler runs
    job = StageJob(
        job_id=f"{recording_id}:transcribe",
        stage="transcribe",
        tenant_id=tenant.tenant_id,
        session_id=session["session_id"],
        recording_id=recording_id,
    )
    client("sqs").send_message(QueueUrl=stack.ref("TranscribeDLQ"), MessageBody=job.model_dump_json())
    # WHEN the DLQ handler takes it THEN the recording FAILED in transcribe (not in the queue's suffix)
    final = integrator.wait(recording_id, {"FAILED"}, timeout=30)
    assert final["failed_stage"] == "transcribe"
    assert final["failure_reason"].startswith("The transcribe stage failed")


def test_a_dead_s3_event_fails_its_recording_in_ingest(stack: LocalStack, integrator: ApiClient) -> None:
    # GIVEN the real S3 event of an upload, dead-lettered into the ingest DLQ
    session = integrator.create_session()
    recording_id = integrator.upload(
        session["session_id"], b"RIFF", filename="b.wav", content_type="audio/wav"
    )
    body = _upload_event_body(stack)
    client("sqs").send_message(QueueUrl=stack.ref("IngestDLQ"), MessageBody=body)
    # WHEN the DLQ handler takes it THEN the recording (found by the key's tenant) FAILED in ingest
    final = integrator.wait(recording_id, {"FAILED"}, timeout=30)
    assert final["failed_stage"] == "ingest"


def test_the_tenant_comes_from_the_upload_key_not_from_the_event() -> None:
    key = "recordings/ten_a/ses_b/rec_c/x.wav"
    body = json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Post",
                    "tenant_id": "ten_forged",
                    "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 4}},
                }
            ]
        }
    )
    letter = dead_letter_of(body)
    assert (letter.stage, letter.recordings) == ("ingest", [("ten_a", "rec_c")])
    assert dead_letter_of(json.dumps({"Event": "s3:TestEvent"})).recordings == []


def test_a_message_of_no_known_kind_stays_in_the_dlq() -> None:
    for body in ("not json", json.dumps({"job_id": "x"}), json.dumps([1, 2])):
        with pytest.raises(UnknownDeadLetterError):
            dead_letter_of(body)


def test_a_dead_assembly_job_fails_the_sessions_recording_in_assemble(
    stack: LocalStack, integrator: ApiClient, tenant: Any
) -> None:
    # GIVEN an ended session whose assembly job died before it wrote the tracks' recording
    session = integrator.create_session()
    sid = session["session_id"]
    job = AssembleJob(
        job_id=f"{sid}:assemble:ended", tenant_id=tenant.tenant_id, session_id=sid, trigger="ended"
    )
    # WHEN it reaches the (CloudFormation-named) AssembleDLQ, which the failures function consumes
    client("sqs").send_message(QueueUrl=stack.ref("AssembleDLQ"), MessageBody=job.model_dump_json())
    # THEN the session's one tracks recording is FAILED in assemble, saying why, and summary.failed is sent once
    recording_id = f"rec_{sid.split('_', 1)[1]}"
    final = integrator.wait(recording_id, {"FAILED"}, timeout=30)
    assert final["failed_stage"] == "assemble"
    assert final["failure_reason"].startswith("The assemble stage failed after")
    wait_for(lambda: bool(events_of(stack, sid, "summary.failed")), timeout=10, what="summary.failed")
    [event] = events_of(stack, sid, "summary.failed")
    data = json.loads(event["payload"])["data"]
    assert (data["stage"], data["recording_id"]) == ("assemble", recording_id)


def test_an_assembly_job_names_the_assemble_stage_and_the_tracks_recording() -> None:
    job = AssembleJob(job_id="ses_ab:assemble:grace", tenant_id="ten_a", session_id="ses_ab", trigger="grace")
    letter = dead_letter_of(job.model_dump_json())
    assert (letter.stage, letter.recordings, letter.session_id) == (
        "assemble",
        [("ten_a", "rec_ab")],
        "ses_ab",
    )
