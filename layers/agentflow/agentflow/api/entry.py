"""The api function's Lambda entry: API Gateway HTTP API (payload 2.0) → Mangum → the FastAPI app,
traced in X-Ray (``Tracing: Active``); ``functions/api/handler.py`` calls :func:`http_handler` once,
as the stage functions call ``agentflow.stages.batch.sqs_handler``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Tracer
from mangum import Mangum

from agentflow.api.app import create_app, logger

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def http_handler() -> LambdaHandler:
    """Build the app and the Tracer (once per cold start) and return the Lambda handler."""
    # Only botocore is patched: the API's own calls are DynamoDB, S3, KMS and Secrets Manager, and
    # patching every library the X-Ray SDK knows costs far more of the cold import (2026-12-02,
    # benchmarks/api_tracer_import.py: botocore alone ~2 % of the handler's CPU, everything ~50 %).
    # Off outside Lambda and where POWERTOOLS_TRACE_DISABLED is set (the local stack, the tests).
    tracer = Tracer(service="agentflow-api", patch_modules=("botocore",))
    app = Mangum(create_app(), lifespan="off")

    # The invocation's keys (function_request_id, cold_start, …) on every log line, as the stages and
    # the signaling function log; the app adds the request's correlation id. capture_response=False:
    # a response can carry join tokens and API keys, and X-Ray metadata is no place for them.
    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        """One HTTP API event through the app (a function: the Tracer needs a name to record)."""
        return dict(app(event, context))

    handler: LambdaHandler = lambda_handler  # the decorated function, typed again (the Tracer's is Any)
    return handler
