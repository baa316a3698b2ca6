"""Error bodies, as ``api.app`` writes them; routes list them in ``responses`` for the OpenAPI spec.

A route's error responses refer to the schemas by ``$ref`` (:func:`error_responses`), and the
schemas enter the spec once (:func:`error_schemas`, added by ``api.app``): given as ``model``,
FastAPI built a ``TypeAdapter`` for each of the ≈ 80 route × status pairs at import, used only to
write the spec (38 ms CPU of the ``api`` cold start, docs/API.md), for the same spec.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

_REF = "#/components/schemas/{model}"


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
            "description": described[code],
            "content": {
                "application/json": {
                    "schema": {
                        "$ref": _REF.format(
                            model=(ValidationErrorResponse if code == 422 else ErrorResponse).__name__
                        )
                    }
                }
            },
        }
        for code in codes
    }


def error_schemas() -> dict[str, dict[str, Any]]:
    """The OpenAPI component schemas :func:`error_responses` refers to, by name (with ``FieldError``)."""
    _, schemas = GenerateJsonSchema(ref_template=_REF).generate_definitions(
        [
            (model, "serialization", model.__pydantic_core_schema__)
            for model in (ErrorResponse, ValidationErrorResponse)
        ]
    )
    return {str(name): schema for name, schema in schemas.items()}
