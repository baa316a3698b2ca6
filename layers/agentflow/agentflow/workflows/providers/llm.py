"""What the LLM providers share: the prompts, JSON parsing, and one repair round on a bad answer.

A provider only has to say how to send one (system, user) pair and get text back; this module asks
for JSON matching the summary schema, validates it with pydantic, and on a malformed answer asks
once more with the parse error (``max_repairs``) before raising ``ProviderError``.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from agentflow.schemas.summary import ActionItem, Decision, KeyPoint, OpenQuestion
from agentflow.workflows.providers.base import (
    ComposeRequest,
    Composition,
    Extraction,
    ExtractRequest,
    ProviderError,
)

SYSTEM = (
    "You summarise business meetings between named participants. You only report what the "
    "transcript says. Every decision and action item cites the ids of the utterances it comes from "
    "(the [u…] labels). An action item's owner is exactly one of the participant names given, or null. "
    "State a due date only when one was said, in the words used. Answer with one JSON object and nothing else."
)

_EXTRACT_SHAPE = (
    '{"key_points": [{"text": str, "sources": [utterance id]}], '
    '"decisions": [{"text": str, "sources": [utterance id, ...]}], '
    '"action_items": [{"text": str, "owner": participant name or null, "due": str or null, "sources": [utterance id, ...]}], '
    '"open_questions": [{"text": str, "sources": [utterance id]}]}'
)
_COMPOSE_SHAPE = '{"title": str (at most 10 words), "overview": str (one paragraph)}'

T = TypeVar("T", bound=BaseModel)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ItemOut(_Loose):
    text: str = Field(..., min_length=1)
    sources: list[str] = Field(default_factory=list)
    owner: str | None = None
    due: str | None = None

    @pydantic.field_validator("sources", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [re.sub(r"[\[\]\s]", "", str(v)) for v in value]
        return value


class _ExtractionOut(_Loose):
    key_points: list[_ItemOut] = Field(default_factory=list)
    decisions: list[_ItemOut] = Field(default_factory=list)
    action_items: list[_ItemOut] = Field(default_factory=list)
    open_questions: list[_ItemOut] = Field(default_factory=list)

    @pydantic.model_validator(mode="after")
    def _cited(self) -> _ExtractionOut:
        for kind, items in (("decision", self.decisions), ("action item", self.action_items)):
            for item in items:
                if not item.sources:
                    raise ValueError(f"{kind} {item.text[:60]!r} has no sources; cite utterance ids")
        return self

    def to_extraction(self, max_key_points: int) -> Extraction:
        return Extraction(
            key_points=[KeyPoint(text=k.text, sources=k.sources) for k in self.key_points[:max_key_points]],
            decisions=[Decision(text=d.text, sources=d.sources) for d in self.decisions],
            action_items=[
                ActionItem(text=a.text, owner=a.owner or None, due=a.due or None, sources=a.sources)
                for a in self.action_items
            ],
            open_questions=[OpenQuestion(text=q.text, sources=q.sources) for q in self.open_questions],
        )


def transcript_lines(request: ExtractRequest | ComposeRequest) -> str:
    """``[u3] Maria Lopez (10.7-18.3s): text`` per utterance."""
    return "\n".join(
        f"[{u.id}] {u.speaker} ({u.start:.1f}-{u.end:.1f}s): {u.text}" for u in request.utterances
    )


def extract_prompt(request: ExtractRequest) -> str:
    """The user message for one chunk."""
    people = ", ".join(f"{p.name} ({p.role})" if p.role else p.name for p in request.participants)
    feedback = ""
    if request.feedback:
        feedback = (
            "\nA previous answer failed these checks; fix them:\n- " + "\n- ".join(request.feedback) + "\n"
        )
    return (
        f"Participants: {people}\nLanguage: {request.language}\n\nTranscript:\n{transcript_lines(request)}\n\n"
        f"Find at most {request.max_key_points} key points, every decision, every action item (who committed "
        f"or was asked) and every open question.{feedback}\nAnswer as JSON: {_EXTRACT_SHAPE}"
    )


def compose_prompt(request: ComposeRequest) -> str:
    """The user message for the title and overview."""
    speakers = ", ".join(
        f"{s.name} ({s.role or 'participant'}, {s.talk_time_seconds:.0f}s)" for s in request.speakers
    )
    feedback = ""
    if request.feedback:
        feedback = (
            "\nA previous answer failed these checks; fix them:\n- " + "\n- ".join(request.feedback) + "\n"
        )
    return (
        f"Speakers: {speakers}\nDuration: {request.duration:.0f} s\nLanguage: {request.language}\n\n"
        f"Findings:\n{request.draft.model_dump_json(indent=1)}\n\n"
        f"Write a short title and an overview paragraph of at most {request.max_overview_chars} characters. "
        f"Name only the speakers listed.{feedback}\nAnswer as JSON: {_COMPOSE_SHAPE}"
    )


def parse_json_object(text: str) -> Any:
    """The JSON object in a model answer (tolerates a ```json fence or words around it)."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    candidate = fenced.group(1) if fenced else text[text.find("{") : text.rfind("}") + 1]
    if not candidate:
        raise ValueError("the answer contains no JSON object")
    return json.loads(candidate)


class ChatProvider:
    """Base of the LLM providers: subclasses implement ``_complete(system, user) -> text``."""

    name = "llm"

    def __init__(self, *, model: str, context_chars: int, max_repairs: int = 1) -> None:
        self._model = model
        self._context_chars = context_chars
        self.max_repairs = max_repairs

    @property
    def model(self) -> str:
        """The model id."""
        return self._model

    @property
    def context_chars(self) -> int:
        """Transcript characters per extract call."""
        return self._context_chars

    async def _complete(self, system: str, user: str) -> str:
        raise NotImplementedError

    async def _ask(self, user: str, shape: type[T]) -> T:
        message = user
        problem = ""
        for _ in range(self.max_repairs + 1):
            answer = await self._complete(SYSTEM, message)
            try:
                return shape.model_validate(parse_json_object(answer))
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                problem = f"{where + ': ' if where else ''}{first.get('msg', 'invalid')}"[:300]
            except ValueError as exc:
                problem = str(exc)[:300]
            message = (
                f"{user}\n\nYour previous answer could not be used ({problem}). "
                "Answer again with only the JSON object in the shape asked for."
            )
        raise ProviderError(f"{self.name} gave no valid JSON after {self.max_repairs + 1} answers: {problem}")

    async def extract(self, request: ExtractRequest) -> Extraction:
        """Extract items from one chunk."""
        out = await self._ask(extract_prompt(request), _ExtractionOut)
        try:
            return out.to_extraction(request.max_key_points)
        except pydantic.ValidationError as exc:
            raise ProviderError(
                f"{self.name} answer does not fit the summary schema: {exc.errors()[0]['msg']}"
            ) from exc

    async def compose(self, request: ComposeRequest) -> Composition:
        """Write the title and overview."""
        return await self._ask(compose_prompt(request), Composition)
