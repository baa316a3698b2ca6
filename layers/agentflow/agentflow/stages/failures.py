"""The dead-letter handler: a message that exhausted its retries fails its recording, loudly.

The reason names the stage and the last error the stage recorded, so that no recording can stay
PROCESSING forever without saying why.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agentflow.aws import records
from agentflow.services import recordings as recs
from agentflow.services.pipeline import create_pipeline_service
from agentflow.stages.common import context
from agentflow.stages.ingest import s3_objects

log = logging.getLogger(__name__)


def stage_of_queue(queue_arn: str) -> str:
    """The stage whose DLQ this is, from the queue name (``…-TranscribeDLQ`` → ``transcribe``)."""
    name = queue_arn.rsplit(":", 1)[-1].rsplit("-", 1)[-1]
    return name.removesuffix("DLQ").lower()


def _recordings(table: Any, stage: str, body: str) -> list[dict[str, Any]]:
    if stage == "ingest":
        found = []
        for _bucket, key, _size in s3_objects(body):
            parsed = recs.parse_upload_key(key)
            if parsed:
                item = records.get_live(table, *recs.recording_key(parsed.tenant_id, parsed.recording_id))
                if item:
                    found.append(item)
        return found
    job = json.loads(body)
    item = records.get_live(table, *recs.recording_key(job["tenant_id"], job["recording_id"]))
    return [item] if item else []


def handle_record(record: SQSRecord) -> None:
    """Fail the recording(s) a dead-lettered message was about."""
    settings, table = context()
    stage = stage_of_queue(record.event_source_arn)
    pipeline = create_pipeline_service(table, settings)
    for recording in _recordings(table, stage, record.body):
        progress = recording.get("stages", {}).get(stage, {})
        last_error = progress.get("last_error") or "no error was recorded"
        # The stage counts its own attempts; the message's receive count also includes this one.
        attempts = int(progress.get("attempts") or int(record.attributes.approximate_receive_count) - 1)
        reason = f"The {stage} stage failed after {attempts} attempts; last error: {last_error}"
        pipeline.fail(recording, stage=stage, reason=reason)
