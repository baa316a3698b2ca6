"""The one way every queue handler processes a batch: Powertools' partial batch response.

A record handler raises to fail its record; only failed records are retried (SQS redelivers them
after the visibility timeout and moves them to the DLQ after ``maxReceiveCount``).

The stage's Powertools ``Logger`` is copied onto the package's stdlib loggers (``agentflow.*``,
also those created later: they propagate to ``agentflow``), so their lines are JSON with the same
correlation keys (request id, message id); the ``Tracer`` records the invocation for X-Ray
(``Tracing: Active``), and is off where ``POWERTOOLS_TRACE_DISABLED`` is set (the local stack).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def sqs_handler(name: str, handle_record: Callable[[SQSRecord], None]) -> LambdaHandler:
    """Build a Lambda handler for an SQS-driven stage from a function of one record."""
    logger = Logger(service=f"agentflow-{name}")
    tracer = Tracer(service=f"agentflow-{name}")
    logging.getLogger("agentflow")  # registered, so the copy reaches it and all it propagates from
    copy_config_to_registered_loggers(source_logger=logger, include={"agentflow"})
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        logger.append_keys(message_id=record.message_id)
        try:
            handle_record(record)
        except Exception:
            logger.exception("record failed", stage=name)
            raise

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    return lambda_handler
