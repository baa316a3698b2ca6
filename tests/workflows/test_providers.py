"""LLM providers: Bedrock Converse against botocore's real service model (Stubber), and an
OpenAI-compatible endpoint served by a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from agentflow.schemas.summary import Utterance
from agentflow.workflows import WorkflowContext, run_summary, validate_summary
from agentflow.workflows.providers.base import ExtractRequest, Participant, ProviderError
from agentflow.workflows.providers.bedrock import BedrockProvider
from agentflow.workflows.providers.openai import OpenAIProvider
from botocore.stub import ANY, Stubber

from .conftest import FakeProvider
from .test_graph import GOOD, PARTICIPANTS, UTTERANCES

ANSWER = {
    "key_points": [{"text": "The contract goes out this week", "sources": ["u1"]}],
    "decisions": [{"text": "Annual plan", "sources": ["u2"]}],
    "action_items": [{"text": "Send the contract", "owner": "Alice", "due": "Friday", "sources": ["[u1]"]}],
    "open_questions": [],
}
COMPOSED = {"title": "Contract and plan", "overview": "Alice and Bob agreed on the annual plan."}


async def no_sleep(seconds: float) -> None:
    return None


def request() -> ExtractRequest:
    return ExtractRequest(
        utterances=[Utterance.model_validate(u) for u in UTTERANCES],
        participants=[Participant.model_validate(p) for p in PARTICIPANTS],
    )


# ------------------------------------------------------------------------------------------ Bedrock
def converse_response(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 100, "outputTokens": 50, "totalTokens": 150},
        "metrics": {"latencyMs": 12},
    }


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def provider_on(client: Any, sleeps: list[float] | None = None) -> BedrockProvider:
    async def record(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return BedrockProvider(
        client=client,
        model_id="anthropic.claude-3-5-haiku-20241022-v1:0",
        max_tokens=1024,
        temperature=0.0,
        context_chars=20_000,
        max_attempts=3,
        backoff_seconds=0.5,
        sleep=record,
    )


def expected_converse() -> dict[str, Any]:
    return {
        "modelId": "anthropic.claude-3-5-haiku-20241022-v1:0",
        "system": [{"text": ANY}],
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.0},
    }


def test_bedrock_retries_throttling_then_parses_the_answer(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    # GIVEN Bedrock throttles once, then answers
    stubber.add_client_error(
        "converse",
        service_error_code="ThrottlingException",
        http_status_code=429,
        expected_params=expected_converse(),
    )
    stubber.add_response("converse", converse_response(json.dumps(ANSWER)), expected_converse())
    sleeps: list[float] = []
    # WHEN the provider extracts
    extraction = asyncio.run(provider_on(client, sleeps).extract(request()))
    # THEN it waited once (backoff) and returns the validated answer
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5
    assert extraction.action_items[0].owner == "Alice"
    assert extraction.action_items[0].sources == ["u1"]


def test_bedrock_gives_up_after_max_attempts(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    for _ in range(3):
        stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    with pytest.raises(ProviderError, match="ThrottlingException after 3 tries"):
        asyncio.run(provider_on(client).extract(request()))


def test_bedrock_access_denied_is_not_retried(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", service_error_code="AccessDeniedException", http_status_code=403)
    with pytest.raises(ProviderError, match="AccessDeniedException after 1 tries"):
        asyncio.run(provider_on(client).extract(request()))


def test_bedrock_malformed_answer_is_repaired_with_the_error(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    # GIVEN a first answer that is not JSON, then a fenced JSON answer
    stubber.add_response("converse", converse_response("Sure! Here is the summary: decisions were made."))
    stubber.add_response("converse", converse_response("```json\n" + json.dumps(ANSWER) + "\n```"))
    extraction = asyncio.run(provider_on(client).extract(request()))
    assert extraction.decisions[0].text == "Annual plan"


def test_bedrock_malformed_twice_falls_back_in_the_workflow(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    # GIVEN Bedrock answers a decision without sources twice (schema-invalid)
    bad = json.dumps({"decisions": [{"text": "Annual plan"}]})
    stubber.add_response("converse", converse_response(bad))
    stubber.add_response("converse", converse_response(bad))
    backup = FakeProvider(extractions=[GOOD], name="offline")
    # WHEN the default workflow runs on it
    summary = run_summary(
        utterances=UTTERANCES,
        participants=PARTICIPANTS,
        duration=10.0,
        context=WorkflowContext(provider=provider_on(client), fallback=lambda: backup),
    )
    # THEN the fallback summarised and the reason is recorded
    assert summary["fallback_used"] is True and summary["provider"] == "offline"
    assert "has no sources" in summary["findings"][0]
    validate_summary(summary)


def test_bedrock_through_the_whole_workflow(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    stubber.add_response("converse", converse_response(json.dumps(ANSWER)), expected_converse())
    stubber.add_response("converse", converse_response(json.dumps(COMPOSED)), expected_converse())
    summary = run_summary(
        utterances=UTTERANCES,
        participants=PARTICIPANTS,
        duration=10.0,
        context=WorkflowContext(
            provider=provider_on(client), fallback=lambda: FakeProvider(extractions=[GOOD])
        ),
    )
    assert (summary["provider"], summary["model"]) == ("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0")
    assert summary["title"] == "Contract and plan" and summary["fallback_used"] is False
    validate_summary(summary)


# ------------------------------------------------------------------------------ OpenAI-compatible
class ChatServer:
    """A chat-completions endpoint on 127.0.0.1: replies are scripted (status, body) pairs."""

    def __init__(self, replies: list[tuple[int, Any]]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                server.requests.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("authorization"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                status, body = server.replies.pop(0) if server.replies else (500, {"error": "no reply"})
                payload = json.dumps(body).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def chat(content: str) -> dict[str, Any]:
    return {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ]
    }


def openai_on(url: str) -> OpenAIProvider:
    return OpenAIProvider(
        base_url=url,
        model="llama3.1",
        api_key="sk-test",
        max_attempts=3,
        backoff_seconds=0.01,
        sleep=no_sleep,
    )


def test_openai_compatible_retries_429_and_sends_a_json_request() -> None:
    with ChatServer([(429, {"error": "slow down"}), (200, chat(json.dumps(ANSWER)))]) as server:
        extraction = asyncio.run(openai_on(server.url).extract(request()))
    assert extraction.action_items[0].due == "Friday"
    assert len(server.requests) == 2
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["authorization"] == "Bearer sk-test"
    assert sent["body"]["model"] == "llama3.1"
    assert sent["body"]["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent["body"]["messages"]] == ["system", "user"]
    assert "[u1] Alice" in sent["body"]["messages"][1]["content"]


def test_openai_compatible_whole_workflow_with_a_repair() -> None:
    replies = [
        (200, chat("not json at all")),
        (200, chat(json.dumps(ANSWER))),
        (200, chat(json.dumps(COMPOSED))),
    ]
    with ChatServer(replies) as server:
        summary = run_summary(
            utterances=UTTERANCES,
            participants=PARTICIPANTS,
            duration=10.0,
            context=WorkflowContext(
                provider=openai_on(server.url), fallback=lambda: FakeProvider(extractions=[GOOD])
            ),
        )
        repair = server.requests[1]["body"]["messages"][1]["content"]
    assert "could not be used" in repair
    assert (summary["provider"], summary["fallback_used"], summary["title"]) == (
        "openai",
        False,
        "Contract and plan",
    )
    validate_summary(summary)


def test_openai_compatible_server_error_becomes_provider_error() -> None:
    with (
        ChatServer([(500, {"error": "x"})] * 3) as server,
        pytest.raises(ProviderError, match="HTTP 500 after 3"),
    ):
        asyncio.run(openai_on(server.url).extract(request()))


def test_openai_compatible_unreachable_endpoint() -> None:
    with ChatServer([]) as server:
        url = server.url
    with pytest.raises(ProviderError, match="unreachable"):
        asyncio.run(openai_on(url).extract(request()))
