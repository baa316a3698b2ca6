"""Summarize (filled in by the summary and signing issues)."""

from __future__ import annotations

import logging

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

log = logging.getLogger(__name__)


def handle_record(record: SQSRecord) -> None:
    """Summarize one recording (not yet)."""
    log.info("summarize job received: %s", record.body)
