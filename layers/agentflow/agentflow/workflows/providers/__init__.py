"""Summary providers behind one interface, chosen by ``settings.summary_provider``."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from agentflow.workflows.providers.base import (
    ComposeRequest,
    Composition,
    Extraction,
    ExtractRequest,
    Participant,
    ProviderError,
    SummaryProvider,
)

if TYPE_CHECKING:
    from agentflow.settings import Settings

__all__ = [
    "ComposeRequest",
    "Composition",
    "ExtractRequest",
    "Extraction",
    "Participant",
    "ProviderError",
    "SummaryProvider",
    "extractive_provider",
    "get_provider",
]


@cache
def extractive_provider() -> SummaryProvider:
    """The process-wide offline provider (the model loads on first use, not here)."""
    from agentflow.workflows.providers.extractive import ExtractiveProvider

    return ExtractiveProvider()


def get_provider(settings: Settings) -> SummaryProvider:
    """The provider named by ``settings.summary_provider`` (imports only what it needs)."""
    if settings.summary_provider == "bedrock":
        from agentflow.workflows.providers.bedrock import BedrockProvider

        return BedrockProvider.from_settings(settings)
    if settings.summary_provider == "openai":
        from agentflow.workflows.providers.openai import OpenAIProvider

        return OpenAIProvider.from_settings(settings)
    return extractive_provider()
