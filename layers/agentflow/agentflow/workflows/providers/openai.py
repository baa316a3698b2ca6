"""Any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, Ollama, …) over httpx."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx

from agentflow.settings import Settings
from agentflow.workflows.providers.base import ProviderError
from agentflow.workflows.providers.llm import ChatProvider

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_BACKOFF_SECONDS = 20.0  # botocore's standard-mode cap, so both LLM providers wait alike
_MAX_RETRY_AFTER_SECONDS = 60.0


def backoff_seconds(retry: int, response: httpx.Response | None) -> float:
    """The wait before retry ``retry`` (1-based): the server's ``Retry-After`` (at most 60 s), else
    botocore's standard-mode backoff, a random part of ``min(2 ** (retry - 1), 20)`` seconds."""
    retry_after = response.headers.get("retry-after") if response is not None else None
    if retry_after and retry_after.replace(".", "", 1).isdigit():
        return min(float(retry_after), _MAX_RETRY_AFTER_SECONDS)
    return random.random() * min(2.0 ** (retry - 1), _MAX_BACKOFF_SECONDS)


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    max_attempts: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> httpx.Response:
    """The first answer not worth another try, or the last of ``max_attempts`` tries.

    A status in ``RETRY_STATUS`` and a transport error (connect, read, …) are tried again after
    ``backoff_seconds``; the last transport error is raised.
    """
    for attempt in range(1, max_attempts + 1):
        last = attempt == max_attempts
        try:
            response = await send()
        except httpx.TransportError:
            if last:
                raise
            await sleep(backoff_seconds(attempt, None))
            continue
        if response.status_code not in RETRY_STATUS or last:
            return response
        await sleep(backoff_seconds(attempt, response))
    raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")


class OpenAIProvider(ChatProvider):
    """Summaries from a chat-completions endpoint at ``base_url`` (e.g. ``http://host:8000/v1``).

    Asks for ``response_format: json_object``; retries 429 and 5xx (honouring ``Retry-After``) and
    transport errors up to ``max_attempts`` tries (``send_with_retries``).
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        max_tokens: int = 2048,
        temperature: float = 0.0,
        context_chars: int = 48_000,
        timeout_seconds: float = 120.0,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(model=model, context_chars=context_chars)
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.transport = transport

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIProvider:
        """The provider configured by settings."""
        return cls(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            context_chars=settings.llm_context_chars,
            timeout_seconds=settings.llm_timeout_seconds,
            max_attempts=settings.llm_max_attempts,
        )

    async def _complete(self, system: str, user: str) -> str:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "response_format": {"type": "json_object"},
        }
        async with httpx.AsyncClient(timeout=self.timeout_seconds, transport=self.transport) as http:
            try:
                response = await send_with_retries(
                    lambda: http.post(self.url, json=body, headers=self._headers),
                    max_attempts=self.max_attempts,
                    sleep=self.sleep,
                )
            except httpx.TransportError as exc:
                raise ProviderError(
                    f"chat endpoint unreachable after {self.max_attempts} tries: {type(exc).__name__}"
                ) from exc
        if response.status_code >= 400:
            tries = f" after {self.max_attempts} tries" if response.status_code in RETRY_STATUS else ""
            raise ProviderError(f"chat endpoint answered HTTP {response.status_code}{tries}")
        try:
            return str(response.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError("chat endpoint answer has no choices[0].message.content") from exc
