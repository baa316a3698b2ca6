"""Fan-in exactly once, including a crash between the claim and the send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agentflow.aws import records
from agentflow.aws.clients import table
from agentflow.ids import new_id
from agentflow.local.stack import LocalStack
from agentflow.services import recordings as recs


@pytest.fixture(scope="module")
def db() -> Iterator[Any]:
    with LocalStack(api=False, pollers=False) as stack:
        yield table(stack.ref("Table"))


def processing_recording(db: Any, *, done: tuple[str, ...]) -> dict[str, Any]:
    recording_id = new_id("rec")
    item = records.put_new(
        db,
        {
            "pk": "TENANT#ten_x",
            "sk": f"RECORDING#{recording_id}",
            "tenant_id": "ten_x",
            "session_id": "ses_x",
            "recording_id": recording_id,
            "status": "PROCESSING",
            "stages": {stage: {"status": "DONE"} for stage in done},
        },
        actor="test",
    )
    return item


def test_no_claim_until_both_stages_are_done(db: Any) -> None:
    recording = processing_recording(db, done=("transcribe",))
    assert not recs.claim_summarize(db, recording, job_id="rec:transcribe")


def test_one_winner_whatever_the_order(db: Any) -> None:
    recording = processing_recording(db, done=("transcribe", "diarize"))
    assert recs.claim_summarize(db, recording, job_id="rec:diarize")
    assert not recs.claim_summarize(db, recording, job_id="rec:transcribe")


def test_winner_redelivered_after_crash_before_send_claims_again_until_sent(db: Any) -> None:
    # GIVEN the winner claimed and moved the recording on, then died before sending
    recording = processing_recording(db, done=("transcribe", "diarize"))
    assert recs.claim_summarize(db, recording, job_id="rec:transcribe")
    assert recs.transition(db, recording, to="SUMMARIZING", from_=("PROCESSING",)) is not None
    # WHEN its job is redelivered THEN it may claim (and so send) again; the other job may not
    assert recs.claim_summarize(db, recording, job_id="rec:transcribe")
    assert not recs.claim_summarize(db, recording, job_id="rec:diarize")
    # and once the send is recorded, no one claims any more (a duplicate delivery sends nothing)
    recs.mark_summarize_sent(db, recording)
    assert not recs.claim_summarize(db, recording, job_id="rec:transcribe")
