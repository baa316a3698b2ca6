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
def presigner() -> Any:
    """The S3 client that signs presigned URLs: always SigV4, so the headers it is given are signed.

    The default signer of some regions is SigV2, which drops ``Content-Length`` and ``If-None-Match``
    from the signature (checked with botocore 1.44): a part URL must bind both.
    """
    config = _CONFIG.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client("s3", config=config)


@cache
def table(name: str) -> Any:
    """Return the process-wide DynamoDB ``Table`` resource for ``name``."""
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)


def reset() -> None:
    """Forget cached clients (after the endpoint or credentials change, e.g. a new local stack)."""
    client.cache_clear()
    presigner.cache_clear()
    table.cache_clear()
