"""API Gateway HTTP API (payload 2.0) → Mangum → the FastAPI app (``agentflow.api.entry``)."""

from agentflow.api.entry import http_handler

lambda_handler = http_handler()
