"""The FastAPI app: routers, error translation, correlation ids.

Errors leave as JSON: domain errors as ``{"detail": "<reason>"}`` with their status, validation
errors as 422 ``{"detail": {"field", "message"}, "errors": [...]}``, unknown routes as 404.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import OpenAPI
from fastapi.responses import JSONResponse

from agentflow import __version__
from agentflow.api.routes import (
    calls,
    recordings,
    sessions,
    signatures,
    summaries,
    tracks,
    transcripts,
    webhook_deliveries,
    widget,
    workflows,
)
from agentflow.errors import AgentFlowError
from agentflow.schemas.errors import error_schemas

logger = Logger(service="agentflow-api")

CORRELATION_HEADER = "x-correlation-id"
# A caller's correlation id is echoed only if it is short and plain (it lands in every log line).
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:=+/-]{1,128}$")


def correlation_id(request: Request) -> str:
    """The request's correlation id: the caller's header, else API Gateway's request id, else new."""
    given = request.headers.get(CORRELATION_HEADER, "")
    if _CORRELATION_ID.match(given):
        return given
    event = request.scope.get("aws.event") or {}  # set by Mangum in Lambda
    request_id = str((event.get("requestContext") or {}).get("requestId") or "")
    if _CORRELATION_ID.match(request_id):
        return request_id
    return str(uuid.uuid4())


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _add_error_schemas(app: FastAPI) -> None:
    """Put the error bodies' schemas, which every route's error responses ``$ref``, into the spec.

    The routes declare them by reference, not as models, so that FastAPI builds no ``TypeAdapter``
    per route for them at import (``schemas/errors.py``); FastAPI's documented way to extend the
    spec is to replace ``app.openapi``, which caches what it returns in ``app.openapi_schema``.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            components = spec.setdefault("components", {})
            components["schemas"] = dict(sorted((components.get("schemas", {}) | error_schemas()).items()))
            # What FastAPI does to its own output last: the same key order in every schema.
            app.openapi_schema = jsonable_encoder(OpenAPI(**spec), by_alias=True, exclude_none=True)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app() -> FastAPI:
    """Build the app (once per warm container in Lambda; once per ``agentflow up`` locally)."""
    # The layer's stdlib loggers (agentflow.*: services, crypto, aws) log through this Logger, with
    # the request's correlation id, as the stages' do (stages/batch.py); registered first so that
    # the copy reaches it.
    logging.getLogger("agentflow")
    copy_config_to_registered_loggers(source_logger=logger, include={"agentflow"})
    app = FastAPI(
        title="AgentFlow API",
        version=__version__,
        description="Sessions in, signed summaries out. Authenticate with `Authorization: Bearer <API key>`.",
    )
    for module in (
        sessions,
        recordings,
        tracks,
        summaries,
        signatures,
        workflows,
        webhook_deliveries,
        widget,
    ):
        app.include_router(module.router)
    app.include_router(calls.router)  # the call's ICE servers (docs/CALL.md)
    app.include_router(transcripts.router)  # exports of the signed summary's transcript
    _add_error_schemas(app)

    @app.exception_handler(AgentFlowError)
    async def domain_error(request: Request, exc: AgentFlowError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.field:
            error = {"field": exc.field, "message": exc.message}
            return JSONResponse({"detail": error, "errors": [error]}, status_code=exc.status_code)
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                # A JSON syntax error's location is a character offset, not a field.
                "field": "body" if e.get("type") == "json_invalid" else _field(tuple(e.get("loc", ()))),
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return JSONResponse({"detail": first, "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # A bug or an outage, never bad input: log it with the request's correlation id.
        logger.exception("unhandled error", method=request.method, path=request.url.path)
        return JSONResponse({"detail": "Internal server error"}, status_code=500)

    @app.middleware("http")
    async def correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        cid = correlation_id(request)
        # A context variable: concurrent requests (uvicorn locally) each keep their own id.
        logger.thread_safe_append_keys(correlation_id=cid)
        started = time.perf_counter()
        response = await call_next(request)
        response.headers[CORRELATION_HEADER] = cid
        # Path and status only: never headers (they carry API keys and tokens) or query strings.
        logger.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the app is up."""
        return {"status": "ok", "version": __version__}

    return app
