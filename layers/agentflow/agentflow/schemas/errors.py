"""Error bodies, as ``api.app`` writes them; routes list them in ``responses`` for the OpenAPI spec."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorResponse(BaseModel):
    """Every 4xx other than 422: ``{"detail": "<reason>"}`` (401 is always ``Invalid API key or token``)."""

    detail: str


class FieldError(BaseModel):
    """One invalid input: where (``host.name``, ``limit``, ``body``…) and why."""

    field: str
    message: str


class ValidationErrorResponse(BaseModel):
    """422: the first error as ``detail``, every error in ``errors``."""

    detail: FieldError
    errors: list[FieldError]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route for the given error status codes."""
    described = {
        400: "The body could not be read as JSON text (e.g. it is not UTF-8).",
        401: "Missing, malformed, unknown or revoked API key, or an invalid or expired join token.",
        403: "The credential is valid but does not grant this action.",
        404: "Not found: absent, deleted, or another tenant's (all look the same).",
        409: "Conflicts with the stored state.",
        422: "Invalid input.",
    }
    return {
        code: {
            "model": ValidationErrorResponse if code == 422 else ErrorResponse,
            "description": described[code],
        }
        for code in codes
    }
