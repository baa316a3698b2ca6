"""Amazon Bedrock through the Converse API (boto3); botocore's retries are the only ones."""

from __future__ import annotations

import asyncio
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentflow.settings import Settings
from agentflow.workflows.providers.base import ProviderError
from agentflow.workflows.providers.llm import ChatProvider


class BedrockProvider(ChatProvider):
    """Summaries from a Bedrock model (``settings.bedrock_model_id``).

    Args:
        client: a ``bedrock-runtime`` boto3 client; its retry configuration (``aws.clients.config_for``)
            is what retries throttling and transient errors.
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
    ) -> None:
        super().__init__(model=model_id, context_chars=context_chars)
        self.client = client
        self.max_tokens = max_tokens
        self.temperature = temperature

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockProvider:
        """The provider configured by settings, on the process-wide client (``llm_max_attempts`` tries)."""
        from agentflow.aws.clients import client

        return cls(
            client=client("bedrock-runtime", max_attempts=settings.llm_max_attempts),
            model_id=settings.bedrock_model_id,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            context_chars=settings.llm_context_chars,
        )

    async def _complete(self, system: str, user: str) -> str:
        request = {
            "modelId": self.model,
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        try:
            response = await asyncio.to_thread(self.client.converse, **request)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")) or "error"
            tries = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
            raise ProviderError(f"Bedrock {code} after {tries} tries") from exc
        except BotoCoreError as exc:
            raise ProviderError(f"Bedrock unreachable: {type(exc).__name__}") from exc
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(str(b["text"]) for b in blocks if "text" in b)
