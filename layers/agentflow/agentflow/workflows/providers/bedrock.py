"""Amazon Bedrock through the Converse API (boto3), with backoff on throttling."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentflow.settings import Settings
from agentflow.workflows.providers.base import ProviderError
from agentflow.workflows.providers.llm import ChatProvider

# Worth another try after a pause; anything else (access denied, validation) will not improve.
RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
        "ModelTimeoutException",
    }
)


class BedrockProvider(ChatProvider):
    """Summaries from a Bedrock model (``settings.bedrock_model_id``).

    Args:
        client: a ``bedrock-runtime`` boto3 client.
        sleep: awaited between tries (tests pass a no-op); backoff is ``backoff_seconds * 2**n`` with jitter.
    """

    name = "bedrock"

    def __init__(
        self,
        *,
        client: Any,
        model_id: str,
        max_tokens: int,
        temperature: float,
        context_chars: int,
        max_attempts: int = 4,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(model=model_id, context_chars=context_chars)
        self.client = client
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockProvider:
        """The provider configured by settings, on the process-wide client."""
        from agentflow.aws.clients import client

        return cls(
            client=client("bedrock-runtime"),
            model_id=settings.bedrock_model_id,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            context_chars=settings.llm_context_chars,
            max_attempts=settings.llm_max_attempts,
        )

    async def _complete(self, system: str, user: str) -> str:
        request = {
            "modelId": self.model,
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await asyncio.to_thread(self.client.converse, **request)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in RETRYABLE and attempt < self.max_attempts:
                    await self.sleep(self.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))
                    continue
                raise ProviderError(f"Bedrock {code or 'error'} after {attempt} tries") from exc
            except BotoCoreError as exc:
                if attempt < self.max_attempts:
                    await self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                    continue
                raise ProviderError(f"Bedrock unreachable: {type(exc).__name__}") from exc
            blocks = response.get("output", {}).get("message", {}).get("content", [])
            return "".join(str(b["text"]) for b in blocks if "text" in b)
        raise ProviderError("Bedrock: no attempts were made")  # max_attempts < 1
