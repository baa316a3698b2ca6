"""boto3 clients, created once per process (warm container) and passed into services.

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` (set by the local runner to the embedded
moto server, or by the user to a LocalStack); in AWS it is unset and the real endpoints are used.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # the stubs are a dev dependency (requirements.txt), not in the Lambda layer
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

# The one retry layer for AWS calls (nothing retries on top of it; SQS redelivers what still fails).
# Adaptive mode also slows this client down when the service throttles it.
_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)
# KMS Sign sits on the summarize stage's path once per summary: six tries (about 30 s of backoff
# at most) before the job goes back to SQS, instead of the 9 x 6 tries two stacked layers made.
# A caller may set the tries of its client instead (``max_attempts``): Bedrock's come from
# settings.llm_max_attempts, and botocore retries its throttling (ThrottlingException,
# ModelNotReadyException), 500, 503 and connection errors.
_RETRIES = {"kms": Config(retries={"total_max_attempts": 6, "mode": "adaptive"})}


def config_for(service: str, *, max_attempts: int | None = None) -> Config:
    """The botocore configuration (timeouts, retry schedule) of ``service``'s client.

    Args:
        service: the boto3 service name.
        max_attempts: total tries of one call (the first included), instead of the service's own.
    """
    config = _CONFIG.merge(_RETRIES[service]) if service in _RETRIES else _CONFIG
    if max_attempts is not None:
        config = config.merge(Config(retries={"total_max_attempts": max_attempts, "mode": "adaptive"}))
    return config


@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["kms"]) -> KMSClient: ...
@overload
def client(service: Literal["secretsmanager"]) -> SecretsManagerClient: ...
@overload
def client(service: str, *, max_attempts: int | None = None) -> Any: ...
def client(service: str, *, max_attempts: int | None = None) -> Any:
    """Return the process-wide boto3 client for ``service`` (``"s3"``, ``"sqs"``, ``"kms"``, …).

    Typed (mypy-boto3) for the services the code base uses most. ``max_attempts`` as in
    ``config_for``; each distinct value is its own cached client.
    """
    return _client(service, max_attempts)


# One boto3 session for the process: a session loads botocore's data (endpoints, the service
# models' loader) and resolves credentials once, so each further client or resource costs ~50 ms
# of CPU instead of ~235 ms from a session of its own (benchmarks/api_import.py --first-request).
# A session is not thread-safe, its clients are: clients are made under the lock.
_SESSION_LOCK = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def _client(service: str, max_attempts: int | None) -> Any:
    with _SESSION_LOCK:
        return _session().client(service, config=config_for(service, max_attempts=max_attempts))


@cache
def presigner() -> S3Client:
    """The S3 client that signs presigned URLs: always SigV4, so the headers it is given are signed.

    The default signer of some regions is SigV2, which drops ``Content-Length`` and ``If-None-Match``
    from the signature (checked with botocore 1.44): a part URL must bind both.
    """
    config = _CONFIG.merge(Config(signature_version="s3v4"))
    with _SESSION_LOCK:
        s3: S3Client = _session().client("s3", config=config)
    return s3


@cache
def table(name: str) -> Table:
    """Return the process-wide DynamoDB ``Table`` resource for ``name``."""
    with _SESSION_LOCK:
        resource: Table = _session().resource("dynamodb", config=_CONFIG).Table(name)
    return resource


def reset() -> None:
    """Forget cached clients (after the endpoint or credentials change, e.g. a new local stack)."""
    _client.cache_clear()
    presigner.cache_clear()
    table.cache_clear()
    _session.cache_clear()
