"""The whole pipeline on real recordings: real whisper, real pyannote, real KMS signatures."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from agentflow import webhooks
from agentflow.aws.clients import client, table
from agentflow.local.client import ApiClient
from agentflow.local.runner import DUPLICATE_ATTRIBUTE, RunnerOptions, load_handler
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template
from agentflow.services.tenants import create_tenant_service
from agentflow.workflows import default_spec, validate_summary

from tests.pipeline.support import events_of, integrator_for, session_items
from tests.reliability.support import Receiver, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_real_recording_becomes_verified_signed_summary(data_dir: Path, receiver: Receiver) -> None:
    with LocalStack() as stack:
        tenant = create_tenant_service(table(stack.ref("Table"))).create_tenant("acme")
        api = ApiClient(api_url=stack.api_url, api_key=tenant.api_key)
        # a tenant workflow (the default spec with another retry bound) that the summary must run
        spec = default_spec().model_dump()
        spec.pop("id")
        spec["routes"][0]["params"]["max_retries"] = 2
        workflow_id = api.expect(201, "POST", "/v1/workflows", json=spec)["workflow_id"]
        session = api.create_session(
            host={"name": "Dana"}, client={"name": "Eli"}, webhook_url=receiver.url, workflow_id=workflow_id
        )
        sid = session["session_id"]
        # WHEN the browser uploads a real two-speaker recording
        rid = api.upload(sid, data_dir / "dev00.wav", filename="dev00.wav", content_type="audio/wav")
        final = api.wait(rid, timeout=900)
        # THEN it completes with both analysis artifacts stored
        assert final["status"] == "COMPLETED", final
        keys = {
            o["Key"].rsplit("/", 1)[1]
            for o in client("s3").list_objects_v2(
                Bucket=stack.ref("RecordingsBucket"), Prefix=f"artifacts/{rid}/"
            )["Contents"]
        }
        assert keys == {"transcript.json", "diarization.json", "summary.json", "report.pdf"}
        assert {
            s: final["stages"][s]["status"] for s in ("transcribe", "diarize", "summarize")
        } == dict.fromkeys(("transcribe", "diarize", "summarize"), "DONE")
        # and the stored summary is valid against the schema and names two speakers who spoke
        signed = api.expect(200, "GET", f"/v1/sessions/{sid}/summary")
        summary = validate_summary(signed["summary"])  # schema and grounding in its own transcript
        assert summary.workflow_id == workflow_id
        assert len(summary.transcript) > 0
        assert sorted(s.name for s in summary.speakers) == ["Speaker 1", "Speaker 2"]
        # and the signature verifies through the API
        check = httpx.post(
            f"{stack.api_url}/v1/signatures/verify",
            json={
                "summary": signed["summary"],
                "signature": signed["signature"],
                "pdf_sha256": signed["pdf_sha256"],
            },
        ).json()
        assert check["valid"], check
        # and the PDF carries the speakers and the transcript
        pdf = httpx.get(signed["pdf_url"]).content
        text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
        assert "Speaker 1" in text and "Speaker 2" in text
        assert summary.transcript[0].text.split()[0] in text
        # and the integrator got each event once, signed with its tenant's secret
        api.wait(rid, timeout=5)
        expected = {"recording.uploaded": 1, "transcript.ready": 1, "summary.ready": 1}
        wait_for(
            lambda: all(receiver.types(sid)[t] >= n for t, n in expected.items()), timeout=30, what="webhooks"
        )
        assert {t: receiver.types(sid)[t] for t in expected} == expected
        ready = next(b for b in receiver.of_session(sid) if b["type"] == "summary.ready")
        assert ready["data"]["summary_id"] == signed["summary_id"]
        for headers, body in receiver.raw:
            assert webhooks.verify(body, headers, tenant.webhook_secret)["id"] == json.loads(body)["id"]


def test_every_message_delivered_twice_still_yields_one_of_everything(data_dir: Path) -> None:
    # GIVEN a runner that delivers every SQS message twice, in shuffled order
    template = load_template()
    real = load_handler(template.functions["SummarizeFunction"].handler_path)
    originals: Counter[str] = Counter()
    lock = threading.Lock()

    def counting(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            for record in event["Records"]:
                if DUPLICATE_ATTRIBUTE not in record["messageAttributes"]:
                    originals[json.loads(record["body"])["recording_id"]] += 1
        result: dict[str, Any] = real(event, context)
        return result

    options = RunnerOptions(duplicate_delivery=True)
    with LocalStack(options=options, handlers={"summarize": counting}) as stack:
        api = integrator_for(stack)
        sid = api.create_session()["session_id"]
        # WHEN one recording goes through the whole pipeline
        rid = api.upload(sid, data_dir / "sample.wav", filename="sample.wav", content_type="audio/wav")
        final = api.wait(rid, timeout=900)
        assert final["status"] == "COMPLETED", final
        threading.Event().wait(3)  # let the last duplicates drain
        # THEN the fan-in sent exactly one summarize message
        assert originals == Counter({rid: 1})
        # and there is one summary, one signature, one event of each kind
        assert len(session_items(stack, sid, "SUMMARY#")) == 1
        assert len(session_items(stack, sid, "SIGNATURE#")) == 1
        for event_type in ("recording.uploaded", "transcript.ready", "summary.ready"):
            assert len(events_of(stack, sid, event_type)) == 1, event_type
        assert events_of(stack, sid, "summary.failed") == []
