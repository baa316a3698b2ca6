"""Any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, Ollama, …) over httpx."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from agentflow.settings import Settings
from agentflow.workflows.providers.base import ProviderError
from agentflow.workflows.providers.llm import ChatProvider

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIProvider(ChatProvider):
    """Summaries from a chat-completions endpoint at ``base_url`` (e.g. ``http://host:8000/v1``).

    Asks for ``response_format: json_object``; retries 429 and 5xx (honouring ``Retry-After``) and
    connection errors up to ``max_attempts`` tries.
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
        backoff_seconds: float = 1.0,
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
        self.backoff_seconds = backoff_seconds
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

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            return min(float(retry_after), 60.0)
        return float(self.backoff_seconds * 2 ** (attempt - 1))

    async def _complete(self, system: str, user: str) -> str:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "response_format": {"type": "json_object"},
        }
        async with httpx.AsyncClient(timeout=self.timeout_seconds, transport=self.transport) as http:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    response = await http.post(self.url, json=body, headers=self._headers)
                except httpx.TransportError as exc:
                    if attempt < self.max_attempts:
                        await self.sleep(self._wait(attempt, None))
                        continue
                    raise ProviderError(f"chat endpoint unreachable: {type(exc).__name__}") from exc
                if response.status_code in RETRY_STATUS and attempt < self.max_attempts:
                    await self.sleep(self._wait(attempt, response))
                    continue
                if response.status_code >= 400:
                    raise ProviderError(
                        f"chat endpoint answered HTTP {response.status_code} after {attempt} tries"
                    )
                try:
                    return str(response.json()["choices"][0]["message"]["content"] or "")
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise ProviderError("chat endpoint answer has no choices[0].message.content") from exc
        raise ProviderError("chat endpoint: no attempts were made")
