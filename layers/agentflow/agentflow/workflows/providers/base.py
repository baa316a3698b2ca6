"""The one small interface every summary provider implements, and what flows through it."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from agentflow.errors import AgentFlowError
from agentflow.schemas.summary import (
    ActionItem,
    Decision,
    KeyPoint,
    NamingMethod,
    OpenQuestion,
    SpeakerStats,
    Utterance,
)


class ProviderError(AgentFlowError):
    """A provider could not produce a usable answer (after its own retries)."""

    status_code = 502


class Participant(BaseModel):
    """A session participant: a name equal to the speaker labels of their utterances."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(..., min_length=1, max_length=200)
    role: str | None = None
    naming: NamingMethod | None = None  # how the speaker label became this name (SpeakerStats.naming)
    naming_confidence: float | None = None


class Extraction(BaseModel):
    """What a provider finds in one chunk of transcript (or the merged whole)."""

    model_config = ConfigDict(frozen=True)

    key_points: list[KeyPoint] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)

    def is_empty(self) -> bool:
        """True when nothing at all was found."""
        return not (self.key_points or self.decisions or self.action_items or self.open_questions)


class ExtractRequest(BaseModel):
    """Extract from ``utterances`` (one chunk); ``feedback`` lists a failed validation's findings."""

    model_config = ConfigDict(frozen=True)

    utterances: list[Utterance]
    participants: list[Participant]
    language: str = "en"
    max_key_points: int = 8
    feedback: list[str] = Field(default_factory=list)


class Composition(BaseModel):
    """A title and an overview paragraph."""

    model_config = ConfigDict(frozen=True)

    title: str = Field(..., min_length=1, max_length=200)
    overview: str = Field(..., min_length=1)


class ComposeRequest(BaseModel):
    """Compose from the merged extraction and the speakers."""

    model_config = ConfigDict(frozen=True)

    draft: Extraction
    speakers: list[SpeakerStats]
    utterances: list[Utterance]
    language: str = "en"
    duration: float = 0.0
    max_overview_chars: int = 1200
    feedback: list[str] = Field(default_factory=list)


class SummaryProvider(Protocol):
    """Extracts items from transcript chunks and composes a title and overview.

    ``context_chars`` is how much transcript text one ``extract`` call can take; the prepare node
    chunks the transcript to fit it.
    """

    @property
    def name(self) -> str:
        """The provider's name (``extractive``, ``bedrock``, ``openai``)."""
        ...

    @property
    def model(self) -> str:
        """The model id it runs."""
        ...

    @property
    def context_chars(self) -> int:
        """Transcript characters one extract call can take."""
        ...

    async def extract(self, request: ExtractRequest) -> Extraction:
        """Find key points, decisions, action items and open questions in one chunk."""
        ...

    async def compose(self, request: ComposeRequest) -> Composition:
        """Write a title and an overview paragraph."""
        ...
