"""boto3 clients, created once per process (warm container) and passed into services.

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` (set by the local runner to the embedded
moto server, or by the user to a LocalStack); in AWS it is unset and the real endpoints are used.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str) -> Any:
    """Return the process-wide boto3 client for ``service`` (``"s3"``, ``"sqs"``, ``"kms"``, …)."""
    return boto3.session.Session().client(service, config=_CONFIG)


@cache
def table(name: str) -> Any:
    """Return the process-wide DynamoDB ``Table`` resource for ``name``."""
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)


def reset() -> None:
    """Forget cached clients (after the endpoint or credentials change, e.g. a new local stack)."""
    client.cache_clear()
    table.cache_clear()
