"""Helpers every queue stage shares: parsing jobs, temp downloads, artifacts, timing."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentflow.aws.clients import client, table
from agentflow.settings import Settings, get_settings

log = logging.getLogger(__name__)


def artifact_key(recording_id: str, name: str) -> str:
    """``artifacts/{recording_id}/{name}``."""
    return f"artifacts/{recording_id}/{name}"


def put_json(bucket: str, key: str, data: Any) -> None:
    """Write one JSON artifact in a single PUT (readers see all of it or none)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def get_json(bucket: str, key: str) -> Any:
    """Read one JSON artifact."""
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


@contextmanager
def downloaded(bucket: str, key: str) -> Iterator[Path]:
    """Stream an object to a temporary file (never whole into memory); remove it afterwards."""
    suffix = Path(key).suffix[:10]
    with tempfile.TemporaryDirectory(prefix="agentflow-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        client("s3").download_file(bucket, key, str(path))
        yield path


def context() -> tuple[Settings, Any]:
    """The settings and the table, for a stage invocation."""
    settings = get_settings()
    return settings, table(settings.table_name)


class Stopwatch:
    """Seconds since construction."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Elapsed seconds."""
        return time.perf_counter() - self.started
