"""Helpers of the track tests: browser-like chunked Opus tracks, an uploader that speaks the API, SigV4."""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import av
import httpx
import numpy as np
import numpy.typing as npt
from agentflow.speech.audio import SAMPLE_RATE


def opus_stream(pcm: npt.NDArray[np.float32], *, fmt: str = "webm") -> bytes:
    """Encode mono 16 kHz PCM as MediaRecorder does: Opus 48 kHz in a live (append-only) WebM or Ogg."""
    buffer = io.BytesIO()
    options = {"live": "1"} if fmt == "webm" else {}
    with av.open(buffer, "w", format=fmt, options=options) as out:
        stream = out.add_stream("libopus", rate=48_000, layout="mono")
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = 32_000  # Chrome's MediaRecorder default for a voice track is in this range
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(
            (np.clip(pcm, -1, 1) * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        for resampled in resampler.resample(frame):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def chunks_of(data: bytes, *, seconds: float, chunk_seconds: float) -> list[bytes]:
    """Cut a stream into about ``chunk_seconds`` pieces at arbitrary byte offsets, as timeslices are."""
    count = max(1, math.ceil(seconds / chunk_seconds))
    size = math.ceil(len(data) / count)
    return [data[i : i + size] for i in range(0, len(data), size)]


def track_chunks(
    pcm: npt.NDArray[np.float32], *, fmt: str = "webm", chunk_seconds: float = 1.0
) -> list[bytes]:
    """A recorder's chunks for ``pcm`` (mono, 16 kHz)."""
    return chunks_of(
        opus_stream(pcm, fmt=fmt), seconds=pcm.shape[0] / SAMPLE_RATE, chunk_seconds=chunk_seconds
    )


@dataclass
class Browser:
    """One participant's page: its join token and the track calls the widget makes, over real HTTP."""

    api_url: str
    session_id: str
    token: str
    puts: list[int] = field(default_factory=list)  # part numbers PUT to S3, in order

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.api_url}/v1/sessions/{self.session_id}/tracks{path}"
        return httpx.request(method, url, headers=self.headers, timeout=30, **kwargs)

    def open_track(
        self,
        *,
        kind: str = "audio",
        content_type: str = "audio/webm;codecs=opus",
        started_at_server_ms: int | None = None,
        timeslice_ms: int = 1000,
        clock_error_ms: int = 3,
    ) -> httpx.Response:
        return self.call(
            "POST",
            "",
            json={
                "kind": kind,
                "content_type": content_type,
                "timeslice_ms": timeslice_ms,
                "started_at_server_ms": started_at_server_ms or int(time.time() * 1000),
                "clock_error_ms": clock_error_ms,
            },
        )

    def grant(self, track_id: str, parts: dict[int, bytes]) -> httpx.Response:
        body = {"parts": [{"part_number": n, "size_bytes": len(b)} for n, b in parts.items()]}
        return self.call("POST", f"/{track_id}/parts", json=body)

    def upload(self, track_id: str, parts: dict[int, bytes]) -> list[int]:
        """Grant and PUT each part exactly as the widget does; return the PUT statuses."""
        granted = self.grant(track_id, parts)
        assert granted.status_code == 200, granted.text
        statuses = []
        for grant in granted.json()["parts"]:
            number = grant["part_number"]
            sent = httpx.put(grant["url"], content=parts[number], headers=grant["headers"], timeout=30)
            statuses.append(sent.status_code)
            self.puts.append(number)
        return statuses

    def stored(self, track_id: str) -> dict[str, Any]:
        listed = self.call("GET", f"/{track_id}/parts")
        assert listed.status_code == 200, listed.text
        body: dict[str, Any] = listed.json()
        return body

    def complete(self, track_id: str, part_count: int) -> httpx.Response:
        return self.call("POST", f"/{track_id}/complete", json={"part_count": part_count})


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_query_signature(url: str, headers: dict[str, str], *, secret_key: str) -> str:
    """Recompute the SigV4 signature of a presigned S3 URL (AWS's algorithm, written out).

    S3 refuses a URL whose signature does not match this, so a URL whose expiry was lengthened, or
    whose signed headers are sent with other values, is refused.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    params = dict(query)
    signed = params["X-Amz-SignedHeaders"].split(";")
    lower = {k.lower(): v.strip() for k, v in headers.items()} | {"host": parts.netloc}
    canonical_headers = "".join(f"{name}:{lower[name]}\n" for name in signed)
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query))
    canonical = "\n".join(
        [
            "PUT",
            quote(parts.path, safe="/-_.~"),
            canonical_query,
            canonical_headers,
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    date, scope = params["X-Amz-Date"], params["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    day, region, service, _ = scope.split("/")
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
