"""Domain errors, raised by services and stages and translated at the edges.

HTTP routes map each to a status code and the seed's JSON body; queue stages mark the recording
FAILED (for permanent faults) or re-raise so SQS retries (for transient ones).
"""

from __future__ import annotations


class AgentFlowError(Exception):
    """Base class of every domain error."""

    status_code = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(AgentFlowError):
    """The entity does not exist, is soft-deleted, or belongs to another tenant."""

    status_code = 404

    @classmethod
    def of(cls, entity: str, entity_id: str) -> NotFoundError:
        """Build the seed's message: ``"<Entity> <id> not found"``."""
        return cls(f"{entity} {entity_id} not found")


class UnauthorizedError(AgentFlowError):
    """Missing, malformed, unknown, revoked or expired credentials."""

    status_code = 401

    def __init__(self, message: str = "Invalid API key or token") -> None:
        super().__init__(message)


class ForbiddenError(AgentFlowError):
    """Valid credentials that do not grant this action."""

    status_code = 403

    def __init__(self, message: str = "Access denied") -> None:
        super().__init__(message)


class ConflictError(AgentFlowError):
    """The request conflicts with stored state (idempotency key reuse, wrong status)."""

    status_code = 409


class ValidationError(AgentFlowError):
    """Input that is well-formed JSON but not acceptable."""

    status_code = 422


class PermanentStageError(AgentFlowError):
    """A pipeline input that will never succeed: mark the recording FAILED, do not retry."""

    status_code = 422


class SigningError(AgentFlowError):
    """The signing key is missing, disabled or unusable."""

    status_code = 500
