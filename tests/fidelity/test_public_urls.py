"""Stages write absolute URLs: an empty PublicApiUrl falls back to the HttpApi's own URL, as in AWS."""

from __future__ import annotations

import functools
import io
import os
import re
from dataclasses import replace
from typing import Any

import pypdf
import pytest
from agentflow.aws.clients import client
from agentflow.local.stack import LocalStack
from agentflow.local.template import load_template
from agentflow.settings import Settings, get_settings
from agentflow.stages.analysis import run_analysis
from agentflow.stages.batch import sqs_handler
from agentflow.stages.diarize import DIARIZE
from agentflow.stages.transcribe import TRANSCRIBE

from tests.pipeline.support import integrator_for
from tests.pipeline.test_ingest import wav_bytes
from tests.reliability.support import Receiver, wait_for


def test_an_empty_public_api_url_gives_the_stages_the_http_apis_own_url() -> None:
    # GIVEN a stack deployed without PublicApiUrl
    with LocalStack(api=False, pollers=False, parameters={"PublicApiUrl": ""}) as stack:
        # THEN the stages' PUBLIC_API_URL is the HttpApi's execute-api URL, absolute
        expected = f"https://{stack.ref('HttpApi')}.execute-api.{stack.region}.amazonaws.com"
        assert os.environ["PUBLIC_API_URL"] == expected
        assert get_settings().absolute_api_url() == expected


def test_the_api_function_keeps_the_parameter_to_avoid_a_cycle() -> None:
    # The API's integration refers to ApiFunction, so ApiFunction cannot refer to the HttpApi.
    template = load_template()
    assert template.functions["ApiFunction"].environment["PUBLIC_API_URL"] == {"Ref": "PublicApiUrl"}
    assert (
        template.functions["IngestFunction"].environment["PUBLIC_API_URL"]["Fn::If"][0] == "HasPublicApiUrl"
    )


@pytest.mark.parametrize("url", ["", "/", "/.well-known", "api.example.com", "ftp://api.example.com"])
def test_outside_local_mode_a_stage_refuses_a_relative_api_url(url: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        Settings(local_mode=False, public_api_url=url).absolute_api_url()


def test_an_absolute_api_url_is_used_without_its_trailing_slash() -> None:
    settings = Settings(local_mode=False, public_api_url="https://api.example.com/")
    assert settings.absolute_api_url() == "https://api.example.com"


def _transcript(
    path: Any, recording: dict[str, Any], session: dict[str, Any], chunk: Any = None
) -> dict[str, Any]:
    """A fixed two-speaker transcript (whisper is not what this test is about)."""
    said = [
        (0.2, "Thanks for joining, shall we review the onboarding plan today?"),
        (2.2, "Yes, I finished the import and the reports are ready."),
        (4.2, "Great, send the reports to the team by Friday please."),
    ]
    words = [
        {
            "start": round(t + 0.15 * i, 3),
            "end": round(t + 0.15 * i + 0.1, 3),
            "word": f" {w}",
            "probability": 0.9,
            "channel": 0,
        }
        for t, line in said
        for i, w in enumerate(line.split())
    ]
    segments = [
        {"id": n, "start": t, "end": t + 1.9, "text": line, "words": []} for n, (t, line) in enumerate(said)
    ]
    return {
        "language": "en",
        "language_probability": 1.0,
        "duration": 6.0,
        "channels": 1,
        "model": "fixed",
        "segments": segments,
        "words": words,
    }


def _diarization(
    path: Any, recording: dict[str, Any], session: dict[str, Any], chunk: Any = None
) -> dict[str, Any]:
    turns = [
        {"start": 0.0, "end": 2.1, "speaker": "SPEAKER_00"},
        {"start": 2.1, "end": 4.1, "speaker": "SPEAKER_01"},
        {"start": 4.1, "end": 6.0, "speaker": "SPEAKER_00"},
    ]
    return {
        "mode": "pipeline",
        "duration": 6.0,
        "speakers": ["SPEAKER_00", "SPEAKER_01"],
        "turns": turns,
        "exclusive": turns,
    }


@pytest.mark.slow
def test_a_summarize_run_with_an_empty_public_api_url_writes_absolute_urls() -> None:
    # GIVEN a stack deployed without PublicApiUrl, with the real summarize and webhooks stages
    # (transcribe and diarize give fixed artifacts) and a webhook receiver
    fixed = {
        analysis.stage: sqs_handler(
            analysis.stage, functools.partial(run_analysis, analysis=replace(analysis, compute=compute))
        )
        for analysis, compute in ((TRANSCRIBE, _transcript), (DIARIZE, _diarization))
    }
    receiver = Receiver()
    try:
        with LocalStack(
            functions={"ingest", "transcribe", "diarize", "summarize", "webhooks"},
            handlers=fixed,
            parameters={"PublicApiUrl": ""},
        ) as stack:
            http_api = f"https://{stack.ref('HttpApi')}.execute-api.{stack.region}.amazonaws.com"
            api = integrator_for(stack)
            sid = api.create_session(webhook_url=receiver.url)["session_id"]
            # WHEN a recording goes through the pipeline
            rid = api.upload(sid, wav_bytes(6.0), filename="a.wav", content_type="audio/wav")
            final = api.wait(rid, timeout=300)
            assert final["status"] == "COMPLETED", final
            # THEN the signed PDF prints the absolute JWKS URL of the HttpApi
            pdf = client("s3").get_object(
                Bucket=stack.ref("RecordingsBucket"), Key=f"artifacts/{rid}/report.pdf"
            )
            reader = pypdf.PdfReader(io.BytesIO(pdf["Body"].read()))
            text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
            assert f"{http_api}/.well-known/jwks.json" in text
            assert re.search(r"(?<![A-Za-z0-9:/.-])/\.well-known/jwks\.json", text) is None
            # and the summary.ready webhook's pdf_url is absolute, on the same URL
            wait_for(lambda: receiver.types(sid)["summary.ready"] >= 1, timeout=30, what="summary.ready")
            ready = next(b for b in receiver.of_session(sid) if b["type"] == "summary.ready")
            assert ready["data"]["pdf_url"] == f"{http_api}/v1/sessions/{sid}/summary"
            for body in receiver.of_session(sid):
                for value in body["data"].values():
                    if isinstance(value, str) and "/v1/" in value:
                        assert value.startswith("https://"), body
    finally:
        receiver.close()
