"""Settings: one pydantic model over the environment, read once per process.

Every name here is an environment variable that ``template.yaml`` sets on the functions; the local
runner sets the same variables from the same template, so the two cannot drift apart.

A plain model rather than pydantic-settings: it reads the environment the way pydantic-settings
did here (see ``Settings``), and importing pydantic-settings (its sources, dotenv, argparse) was 35 ms CPU of
every cold start of the ``api`` function, ~4 % of ``import fastapi, mangum, boto3``
(benchmarks/api_import.py, 2026-12-02; docs/API.md, "Cold import").
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Literal, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Settings(BaseModel):
    """Configuration for every function and the CLI.

    Each field comes from the environment variable of its name (or alias) in any case
    (``TABLE_NAME``, ``table_name``); a list field's variable is JSON text. Keyword arguments win
    over the environment, then the defaults apply, which are validated like given values.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True, validate_by_name=True)

    stage: str = Field(default="local", description="Deployment stage name (local, dev, prod).")
    local_mode: bool = Field(default=False, description="Allows loopback webhooks and serves the widget.")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")

    table_name: str = "agentflow"
    bucket_name: str = "agentflow-recordings"
    ingest_queue_url: str = ""
    transcribe_queue_url: str = ""
    diarize_queue_url: str = ""
    summarize_queue_url: str = ""
    webhooks_queue_url: str = ""
    assemble_queue_url: str = ""
    signing_key_alias: str = "alias/agentflow-signing"
    join_token_secret_arn: str = ""

    # template.yaml sets it to the PublicApiUrl parameter or, when that is empty, the HttpApi's own
    # execute-api URL; the local stack sets it to its API's loopback URL.
    public_api_url: str = Field(default="", description="Base URL of the HTTP API.")
    widget_base_url: str = Field(default="", description="Base URL of the widget; defaults to API /widget.")

    join_token_ttl_seconds: int = 24 * 3600
    upload_url_ttl_seconds: int = Field(default=900, le=900)
    # The functions are sized for these two (template.yaml, beside each MemorySize/EphemeralStorage;
    # tests/fidelity/test_sizing.py recomputes it): transcribe and diarize download the whole upload
    # to /tmp (3072 MiB), diarize decodes 4 h whole (1843 MB as stereo float32). Raise them together.
    max_upload_bytes: int = 2 * 1024**3
    max_duration_seconds: float = 4 * 3600.0
    idempotency_ttl_seconds: int = 24 * 3600

    # Per-participant tracks (issue 16, docs/CALL.md). Each MediaRecorder chunk (<= 10 s) is its own
    # object; these bound each part. Chrome records Opus at about 32-128 kbit/s (4-16 KB/s, so
    # <= 160 KB per 10 s part) and VP8 camera video at up to ~2.5 Mbit/s (~3 MB per part): the limits
    # leave room for both and refuse anything an honest recorder would not make.
    track_max_part_bytes_audio: int = Field(default=1024**2, ge=1)
    track_max_part_bytes_video: int = Field(default=16 * 1024**2, ge=1)
    # A part URL is asked for just before its PUT, so it can be short-lived.
    track_part_url_ttl_seconds: int = Field(default=300, ge=1, le=3600)
    # How long after the session ends a track that never completes (a tab that died) is waited
    # for before the recording is built without its missing parts.
    track_grace_seconds: int = Field(default=600, ge=0)
    # Tracks one participant may open in one session (a reload or a camera toggle opens one each).
    track_max_per_participant: int = Field(default=50, ge=1)

    # Recordings longer than this are cut into chunk jobs (issue 19, speech.plan): each chunk is
    # one transcribe and one diarize invocation, well inside Lambda's 15 minutes at the measured
    # rates (docs/ARCHITECTURE.md, "Long recordings").
    chunk_seconds: float = Field(default=600.0, ge=5.0)

    whisper_model: str = Field(default="base", description="A size name (base, tiny.en) or a directory.")
    whisper_threads: int = 0  # 0: one per available CPU
    # torch intra-op threads for diarization. Measured on 2 shared cores (transcribe runs at the
    # same time): 1 thread 16 s, 2 threads 83 s for the same 30 s file — oversubscription is ruinous.
    diarize_threads: int = Field(default=1, ge=1)
    speech_cache_dir: str = Field(
        default="", description="Where assembled model files go (default ~/.cache)."
    )

    summary_provider: Literal["extractive", "bedrock", "openai"] = "extractive"
    bedrock_model_id: str = "anthropic.claude-3-5-haiku-20241022-v1:0"
    llm_max_tokens: int = 2048
    llm_temperature: float = 0.0
    openai_base_url: str = "http://127.0.0.1:11434/v1"
    openai_model: str = "llama3.1"
    openai_api_key: str = ""
    llm_context_chars: int = Field(default=48_000, description="Transcript characters per LLM call.")
    llm_max_attempts: int = Field(default=4, ge=1, le=10, description="Tries per LLM call on throttling.")
    llm_timeout_seconds: float = 120.0

    webhook_timeout_seconds: float = 10.0
    # Waits before retries 1, 2, … (one attempt plus one per entry); JSON list in the environment.
    webhook_retry_schedule_seconds: list[float] = Field(default=[5, 300, 1800, 7200, 18000, 36000, 36000])
    # Each wait is scaled by a random factor in [1 - jitter, 1 + jitter].
    webhook_retry_jitter: float = Field(default=0.2, ge=0, le=1)
    # How long the previous secret keeps signing (beside the new one) after a rotation.
    webhook_secret_grace_seconds: int = 24 * 3600

    # The call (docs/CALL.md). Pages connect to SIGNALING_URL (wss://…/{stage}); handlers push
    # frames through the management endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage}).
    signaling_url: str = ""
    signaling_management_url: str = ""
    # Seats and connection records outlive API Gateway's 2-hour connection limit by 10 minutes,
    # so the table's TTL never frees a seat whose connection may still be open.
    seat_ttl_seconds: int = Field(default=2 * 3600 + 600, ge=60)
    # ICE servers (GET /v1/sessions/{id}/ice-servers). A pool of Kinesis Video Streams signaling
    # channels (comma-separated ARNs; a session maps to one by hash) gives managed TURN; otherwise
    # STUN/TURN URLs (comma-separated), with coturn REST credentials when a shared secret is set.
    kvs_signaling_channel_arns: str = ""
    stun_urls: str = ""
    turn_urls: str = ""
    turn_shared_secret: str = ""
    turn_credential_ttl_seconds: int = Field(default=3600, ge=60, le=24 * 3600)

    def absolute_api_url(self) -> str:
        """The API's base URL for what a stage writes into a signed document or a webhook.

        A stage has no request to take a host from, and a relative link in a signed PDF or a
        webhook points nowhere, so outside local mode a relative one is refused.

        Raises:
            ValueError: ``PUBLIC_API_URL`` is not an absolute http(s) URL and this is not local mode.
        """
        url = self.public_api_url.rstrip("/")
        parts = urlsplit(url)
        if (parts.scheme not in ("http", "https") or not parts.netloc) and not self.local_mode:
            raise ValueError(f"PUBLIC_API_URL must be an absolute http(s) URL, not {url!r}")
        return url

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, data: Any) -> Any:
        """The environment's values under the given ones (what pydantic-settings' env source did)."""
        if not isinstance(data, dict):
            return data
        # Case-insensitive: the last of two names that differ only in case wins, as before.
        environ = {name.lower(): value for name, value in os.environ.items()}
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            text = environ.get(key.lower())
            if text is not None and name not in data and key not in data:
                values[key] = json.loads(text) if get_origin(field.annotation) in (list, dict) else text
        return values | data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` after env changes)."""
    return Settings()
