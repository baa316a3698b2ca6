"""Webhook delivery (filled in by the webhooks issue)."""

from __future__ import annotations

import logging

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

log = logging.getLogger(__name__)


def handle_record(record: SQSRecord) -> None:
    """Deliver one webhook (not yet: the event stays recorded and PENDING)."""
    log.info("webhook delivery pending: %s", record.body)
