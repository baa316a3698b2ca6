"""LLM providers: Bedrock Converse against botocore's real service model (Stubber), and an
OpenAI-compatible endpoint served by a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from agentflow.aws import clients
from agentflow.schemas.summary import Utterance
from agentflow.settings import Settings
from agentflow.workflows import WorkflowContext, run_summary, validate_summary
from agentflow.workflows.providers.base import ExtractRequest, Participant, ProviderError
from agentflow.workflows.providers.bedrock import BedrockProvider
from agentflow.workflows.providers.openai import OpenAIProvider, backoff_seconds
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


MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"


def provider_on(client: Any) -> BedrockProvider:
    return BedrockProvider(
        client=client, model_id=MODEL_ID, max_tokens=1024, temperature=0.0, context_chars=20_000
    )


def expected_converse() -> dict[str, Any]:
    return {
        "modelId": MODEL_ID,
        "system": [{"text": ANY}],
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.0},
    }


class BedrockServer:
    """A Bedrock Runtime endpoint on 127.0.0.1: each Converse call gets the next scripted
    (status, error code or None, answer text) reply, so a real botocore client retries against it."""

    def __init__(self, replies: list[tuple[int, str | None, str]]) -> None:
        self.replies = list(replies)
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                server.paths.append(self.path)
                status, code, text = server.replies.pop(0)
                body = {"message": code} if code else converse_response(text)
                payload = json.dumps(body).encode()
                self.send_response(status)
                if code:
                    self.send_header("x-amzn-ErrorType", code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def client(self, max_attempts: int) -> Any:
        """A bedrock-runtime client with the stack's retry configuration for ``max_attempts`` tries."""
        return boto3.session.Session().client(
            "bedrock-runtime",
            endpoint_url=f"http://127.0.0.1:{self.httpd.server_address[1]}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=clients.config_for("bedrock-runtime", max_attempts=max_attempts),
        )

    def __enter__(self) -> BedrockServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


THROTTLED = (429, "ThrottlingException", "")


def test_bedrock_throttling_is_retried_by_botocore_then_parsed() -> None:
    # GIVEN Bedrock throttles once, then answers
    with BedrockServer([THROTTLED, (200, None, json.dumps(ANSWER))]) as server:
        # WHEN the provider extracts through a client configured for three tries
        extraction = asyncio.run(provider_on(server.client(max_attempts=3)).extract(request()))
    # THEN botocore sent the call twice (no second retry layer) and the answer is validated
    assert server.paths == [f"/model/{quote(MODEL_ID, safe='')}/converse"] * 2
    assert extraction.action_items[0].owner == "Alice"
    assert extraction.action_items[0].sources == ["u1"]


def test_bedrock_gives_up_after_max_attempts() -> None:
    with (
        BedrockServer([THROTTLED] * 2) as server,
        pytest.raises(ProviderError, match="ThrottlingException after 2 tries"),
    ):
        asyncio.run(provider_on(server.client(max_attempts=2)).extract(request()))
    assert len(server.paths) == 2


def test_bedrock_access_denied_is_not_retried() -> None:
    with (
        BedrockServer([(403, "AccessDeniedException", "")]) as server,
        pytest.raises(ProviderError, match="AccessDeniedException after 1 tries"),
    ):
        asyncio.run(provider_on(server.client(max_attempts=3)).extract(request()))
    assert len(server.paths) == 1


def test_bedrock_client_tries_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN settings asking for two tries per LLM call
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = Settings(summary_provider="bedrock", llm_max_attempts=2)
    # WHEN the provider is made from settings
    clients.reset()
    try:
        provider = BedrockProvider.from_settings(settings)
    finally:
        clients.reset()
    # THEN its client carries exactly that retry schedule, in botocore's adaptive mode
    assert provider.client.meta.config.retries == {"total_max_attempts": 2, "mode": "adaptive"}


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


def test_openai_compatible_client_error_is_not_retried() -> None:
    with (
        ChatServer([(400, {"error": "bad request"}), (200, chat(json.dumps(ANSWER)))]) as server,
        pytest.raises(ProviderError, match=r"HTTP 400$"),
    ):
        asyncio.run(openai_on(server.url).extract(request()))
    assert len(server.requests) == 1


def test_openai_compatible_transport_error_is_retried() -> None:
    # GIVEN a transport whose first call fails to connect, then answers
    calls: list[str] = []

    def answer(req: httpx.Request) -> httpx.Response:
        calls.append(str(req.url))
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=req)
        return httpx.Response(200, json=chat(json.dumps(ANSWER)))

    provider = OpenAIProvider(
        base_url="http://llm.invalid/v1", model="m", sleep=no_sleep, transport=httpx.MockTransport(answer)
    )
    # WHEN extracting
    extraction = asyncio.run(provider.extract(request()))
    # THEN the second try answered
    assert calls == ["http://llm.invalid/v1/chat/completions"] * 2
    assert extraction.decisions[0].text == "Annual plan"


def test_httpx_backoff_is_botocores_schedule_or_retry_after() -> None:
    # botocore standard mode: a random part of min(2 ** (retry - 1), 20) seconds
    for retry, cap in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 20.0), (9, 20.0)):
        waits = [backoff_seconds(retry, None) for _ in range(200)]
        assert all(0 <= w <= cap for w in waits) and max(waits) > cap / 2
    # a server's Retry-After wins, at most 60 s
    assert backoff_seconds(1, httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert backoff_seconds(1, httpx.Response(503, headers={"Retry-After": "3600"})) == 60.0


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
