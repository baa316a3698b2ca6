"""``StageRun``: every stage records its progress in one shape (RUNNING, then RETRYING or DONE)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agentflow.stages.common import StageRun


class FakeTable:
    """Records the ``stages.<stage>`` values written; returns them as the new item."""

    def __init__(self) -> None:
        self.written: list[tuple[str, dict[str, Any]]] = []

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        stage, progress = kwargs["ExpressionAttributeNames"]["#s"], kwargs["ExpressionAttributeValues"][":p"]
        self.written.append((stage, progress))
        return {"Attributes": {"stages": {stage: progress}}}


RECORDING = {"tenant_id": "ten_1", "recording_id": "rec_1", "stages": {"diarize": {"attempts": Decimal(2)}}}


def test_a_run_that_completes() -> None:
    # GIVEN a stage tried twice before
    table = FakeTable()
    # WHEN it starts and completes
    run = StageRun.start(table, RECORDING, "diarize")
    updated = run.done(artifact="artifacts/rec_1/diarization.json")
    # THEN attempt 3 was RUNNING, then DONE with its timing and artifact
    (_, running), (_, done) = table.written
    assert running == {"status": "RUNNING", "started_at": run.started_at, "attempts": 3}
    assert done["status"] == "DONE" and done["attempts"] == 3 and done["started_at"] == run.started_at
    assert done["artifact"] == "artifacts/rec_1/diarization.json"
    assert isinstance(done["seconds"], Decimal) and done["completed_at"] >= run.started_at
    assert updated == {"stages": {"diarize": done}}


def test_a_run_that_fails_records_the_error() -> None:
    table = FakeTable()
    run = StageRun.start(table, {"tenant_id": "ten_1", "recording_id": "rec_1"}, "summarize")
    run.retrying(RuntimeError("x" * 600))
    stage, retrying = table.written[-1]
    assert stage == "summarize" and retrying["status"] == "RETRYING" and retrying["attempts"] == 1
    assert retrying["last_error"] == ("RuntimeError: " + "x" * 600)[:500]
