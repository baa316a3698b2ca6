"""The embedded local AWS: resources from template.yaml, real S3→SQS events, real retry and DLQ."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from typing import Any

import boto3
import pytest
from agentflow.aws.clients import client
from agentflow.local.runner import RunnerOptions
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template
from agentflow.settings import get_settings
from agentflow.stages.ingest import s3_objects

from tests.reliability.support import wait_for


def test_upload_reaches_ingest_handler_as_real_s3_event_in_sqs_record() -> None:
    # GIVEN a local stack whose ingest function is replaced by a recorder
    events: list[dict[str, Any]] = []

    def recorder(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"batchItemFailures": []}

    with LocalStack(api=False, functions={"ingest"}, handlers={"ingest": recorder}) as stack:
        bucket = stack.ref("RecordingsBucket")
        key = "recordings/ten_x/ses_y/rec_z/Réunion d'équipe + notes (1).wav"
        # WHEN an object is put under recordings/ with boto3
        client("s3").put_object(Bucket=bucket, Key=key, Body=b"RIFF....", ContentType="audio/wav")
        client("s3").put_object(Bucket=bucket, Key="artifacts/elsewhere.json", Body=b"{}")
        wait_for(lambda: len(events) >= 1, timeout=30)
        time.sleep(1.5)  # an event for the artifacts/ prefix would arrive by now

    # THEN apart from S3's test event (sent when the notification was configured, and ignored by
    # the ingest stage), the handler got exactly one Lambda SQS event, shaped as Lambda builds it
    records = [r for e in events for r in e["Records"]]
    test_events = [r for r in records if json.loads(r["body"]).get("Event") == "s3:TestEvent"]
    assert all(s3_objects(r["body"]) == [] for r in test_events)
    object_events = [r for r in records if r not in test_events]
    assert len(object_events) == 1
    record = object_events[0]
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "eventSourceARN"}
    assert record["eventSource"] == "aws:sqs"
    assert stack.stack is not None
    assert record["eventSourceARN"] == stack.stack.attrs[("IngestQueue", "Arn")]
    assert int(record["attributes"]["ApproximateReceiveCount"]) == 1
    # and the key decodes back exactly (spaces, '+', non-ASCII)
    assert s3_objects(record["body"]) == [(bucket, key, 8)]


def test_failed_record_alone_is_retried_then_dead_lettered() -> None:
    # GIVEN an ingest handler that fails one record of each batch it sees
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            with lock:
                seen[record["body"]] += 1
            if record["body"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    template = load_template()
    max_receives = template.queues["IngestQueue"].max_receive_count
    assert max_receives is not None and max_receives >= 3

    with LocalStack(api=False, functions={"ingest"}, handlers={"ingest": flaky}) as stack:
        sqs = client("sqs")
        queue = stack.ref("IngestQueue")
        # WHEN a batch with one poison record is sent
        sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "poison", "ok-2"])
            ],
        )
        dlq = stack.ref("IngestDLQ")

        def dead_lettered() -> list[dict[str, Any]]:
            return list(sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []))

        found: list[dict[str, Any]] = []
        wait_for(lambda: bool(found.extend(dead_lettered()) or found), timeout=60)

    # THEN the good records ran once, the poison one exactly maxReceiveCount times, then went to the DLQ
    assert seen["ok-1"] == 1 and seen["ok-2"] == 1
    assert seen["poison"] == max_receives
    assert [m["Body"] for m in found] == ["poison"]


def test_local_resources_match_template() -> None:
    template = load_template()
    with LocalStack(api=False, pollers=False) as stack:
        sqs = client("sqs")
        # every queue: its visibility timeout and redrive policy as declared
        for logical_id, spec in template.queues.items():
            attrs = sqs.get_queue_attributes(QueueUrl=stack.ref(logical_id), AttributeNames=["All"])[
                "Attributes"
            ]
            assert int(attrs["VisibilityTimeout"]) == spec.visibility_timeout, logical_id
            if spec.dlq:
                redrive = json.loads(attrs["RedrivePolicy"])
                assert stack.stack is not None
                assert redrive["deadLetterTargetArn"] == stack.stack.attrs[(spec.dlq, "Arn")]
                assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
            else:
                assert "RedrivePolicy" not in attrs
        # every consumed queue has a DLQ and a visibility timeout ≥ 6 x its consumer's timeout
        for fn in template.functions.values():
            for source in fn.sources:
                spec = template.queues[source.queue]
                assert source.report_batch_item_failures, (fn.name, source.queue)
                assert spec.visibility_timeout >= 6 * fn.timeout, (fn.name, source.queue)
                if not source.queue.endswith("DLQ"):
                    assert spec.dlq is not None and (spec.max_receive_count or 0) >= 3
        # the table: keys and GSIs as declared
        declared = template.resources["Table"]["Properties"]
        table = client("dynamodb").describe_table(TableName=stack.ref("Table"))["Table"]
        assert table["KeySchema"] == declared["KeySchema"]
        assert {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]} == {
            i["IndexName"]: i["KeySchema"] for i in declared["GlobalSecondaryIndexes"]
        }
        # the signing key: RSA 2048 for signing, reachable through the alias
        key_props = template.resources["SigningKey"]["Properties"]
        meta = client("kms").describe_key(KeyId=stack.ref("SigningKeyAlias"))["KeyMetadata"]
        assert meta["KeySpec"] == key_props["KeySpec"] == "RSA_2048"
        assert meta["KeyUsage"] == key_props["KeyUsage"] == "SIGN_VERIFY"
        # the bucket: notification to the ingest queue on recordings/, CORS for browser uploads
        bucket = stack.ref("RecordingsBucket")
        notification = client("s3").get_bucket_notification_configuration(Bucket=bucket)
        [queue_config] = notification["QueueConfigurations"]
        assert stack.stack is not None
        assert queue_config["QueueArn"] == stack.stack.attrs[("IngestQueue", "Arn")]
        assert queue_config["Filter"]["Key"]["FilterRules"][0]["Value"] == "recordings/"
        cors = client("s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
        assert {"POST", "PUT"} <= set(cors[0]["AllowedMethods"])


def test_duplicate_delivery_mode_delivers_each_message_twice() -> None:
    bodies: Counter[str] = Counter()
    lock = threading.Lock()

    def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            # (S3's test event from provisioning arrives on this queue too; count only ours)
            bodies.update(r["body"] for r in event["Records"] if not r["body"].startswith("{"))
        return {"batchItemFailures": []}

    options = RunnerOptions(duplicate_delivery=True)
    with LocalStack(api=False, functions={"ingest"}, handlers={"ingest": count}, options=options) as stack:
        for i in range(3):
            client("sqs").send_message(QueueUrl=stack.ref("IngestQueue"), MessageBody=f"m{i}")
        wait_for(lambda: sum(bodies.values()) >= 6, timeout=30)
        time.sleep(1.5)
    assert bodies == Counter({"m0": 2, "m1": 2, "m2": 2})


def test_an_external_aws_endpoint_url_is_used_instead_of_the_embedded_moto(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an emulator the user runs (a LocalStack, say; here a moto server of our own) named by
    # AWS_ENDPOINT_URL, as a LocalStack run would name it
    from agentflow.local.ports import free_port
    from moto.server import ThreadedMotoServer

    port = free_port()
    external = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    external.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    events: list[dict[str, Any]] = []

    def recorder(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"batchItemFailures": []}

    try:
        with LocalStack(api=False, functions={"ingest"}, handlers={"ingest": recorder}) as stack:
            # THEN the stack starts no moto of its own and provisions on that endpoint
            assert stack.endpoint_url == url
            assert stack._moto is None
            direct = boto3.client(
                "sqs",
                endpoint_url=url,
                region_name=stack.region,
                aws_access_key_id="x",
                aws_secret_access_key="x",
            )
            assert stack.ref("IngestQueue") in direct.list_queues().get("QueueUrls", [])
            # and the pipeline's S3 → SQS → function path runs through it
            key = "recordings/ten_x/ses_y/rec_z/a.wav"
            client("s3").put_object(Bucket=stack.ref("RecordingsBucket"), Key=key, Body=b"RIFF")
            wait_for(
                lambda: any(
                    k == key for e in events for r in e["Records"] for _b, k, _s in s3_objects(r["body"])
                ),
                timeout=30,
                what="the upload's event",
            )
        # and leaving the stack leaves the user's emulator running
        assert direct.list_queues() is not None
    finally:
        external.stop()


def test_whisper_gets_the_cpus_diarization_leaves_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a 4-CPU machine and diarization's default of one torch thread
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    monkeypatch.delenv("WHISPER_THREADS", raising=False)
    monkeypatch.delenv("DIARIZE_THREADS", raising=False)
    get_settings.cache_clear()
    # WHEN the stack is up, THEN transcribe's whisper has the other three, workers are told so,
    # and the variable is gone again after
    with LocalStack(api=False, pollers=False) as stack:
        assert get_settings().whisper_threads == 3
        assert stack.worker_environment()["WHISPER_THREADS"] == "3"
    assert "WHISPER_THREADS" not in os.environ
    # AND a count the user gives is kept
    monkeypatch.setenv("WHISPER_THREADS", "2")
    with LocalStack(api=False, pollers=False):
        assert get_settings().whisper_threads == 2
    get_settings.cache_clear()
