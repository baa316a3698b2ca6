"""Join tokens (our HS256 JWTs) against PyJWT, with the real secret from the local Secrets Manager."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from agentflow.aws.clients import client
from agentflow.errors import UnauthorizedError
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.settings import get_settings


@pytest.fixture(scope="module")
def secret_id(stack: LocalStack) -> str:
    return get_settings().join_token_secret_arn


@pytest.fixture(scope="module")
def secrets(stack: LocalStack) -> Any:
    return client("secretsmanager")


@pytest.fixture(scope="module")
def secret(secret_id: str) -> str:
    value: str = client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return value


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "session_id": "ses_a",
        "tenant_id": "ten_a",
        "role": "host",
        "jti": "jti_1",
        "iat": now,
        "exp": now + 60,
        "aud": join_tokens.AUDIENCE,
    } | overrides


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_our_tokens_verify_with_pyjwt(secrets: Any, secret_id: str, secret: str) -> None:
    token = join_tokens.issue(
        secrets=secrets,
        secret_id=secret_id,
        session_id="ses_a",
        tenant_id="ten_a",
        role="client",
        ttl_seconds=90,
    )
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=join_tokens.AUDIENCE)
    assert (claims["session_id"], claims["tenant_id"], claims["role"]) == ("ses_a", "ten_a", "client")
    assert claims["exp"] - claims["iat"] == 90
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_pyjwt_tokens_verify_with_ours(secrets: Any, secret_id: str, secret: str) -> None:
    token = jwt.encode(_claims(role="client"), secret, algorithm="HS256")
    claims = join_tokens.verify(token, secrets=secrets, secret_id=secret_id)
    assert (claims.session_id, claims.tenant_id, claims.role, claims.jti) == (
        "ses_a",
        "ten_a",
        "client",
        "jti_1",
    )


def test_audience_may_be_a_list_as_rfc_7519_allows(secrets: Any, secret_id: str, secret: str) -> None:
    token = jwt.encode(_claims(aud=["other", join_tokens.AUDIENCE]), secret, algorithm="HS256")
    assert join_tokens.verify(token, secrets=secrets, secret_id=secret_id).role == "host"


def test_expired_token_says_so(secrets: Any, secret_id: str, secret: str) -> None:
    token = jwt.encode(_claims(exp=int(time.time()) - 1), secret, algorithm="HS256")
    with pytest.raises(UnauthorizedError, match="Join token expired"):
        join_tokens.verify(token, secrets=secrets, secret_id=secret_id)


@pytest.mark.parametrize(
    "claims",
    [
        _claims(aud="someone-else"),
        {k: v for k, v in _claims().items() if k != "aud"},
        {k: v for k, v in _claims().items() if k != "exp"},
        {k: v for k, v in _claims().items() if k != "session_id"},
        _claims(exp="tomorrow"),
        _claims(exp=True),
        _claims(role="admin"),
        _claims(tenant_id=42),
    ],
    ids=["audience", "no-aud", "no-exp", "no-session", "exp-string", "exp-bool", "role", "tenant-int"],
)
def test_validly_signed_tokens_with_bad_claims_are_rejected(
    secrets: Any, secret_id: str, secret: str, claims: dict[str, Any]
) -> None:
    token = jwt.encode(claims, secret, algorithm="HS256")
    with pytest.raises(UnauthorizedError, match="Invalid API key or token"):
        join_tokens.verify(token, secrets=secrets, secret_id=secret_id)


def test_malformed_or_wrongly_signed_tokens_are_rejected(secrets: Any, secret_id: str, secret: str) -> None:
    good = jwt.encode(_claims(), secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    hs512 = jwt.encode(_claims(), secret, algorithm="HS512")
    payload_json = _b64(json.dumps(_claims()).encode())
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        f"{header}.{payload}",
        f"{header}.{payload}.",
        f"{header}.{payload}.{signature}x",
        f"{header}.{payload}.{signature[:-2]}",
        f"{header}.{payload}=.{signature}",  # padding is not base64url
        f"{header}.{payload}.{signature}é",
        hs512,  # right key, other algorithm
        _b64(json.dumps({"alg": "none"}).encode()) + f".{payload}.",
        f"{_b64(b'[]')}.{payload}.{signature}",
        f"{header}.{_b64(b'not json')}.{_b64(b'sig')}",
        f"{header}.{payload_json}.{signature}",  # another payload under the old signature
        jwt.encode(_claims(), secret + "x", algorithm="HS256"),
        "." * 5000,
    ]:
        with pytest.raises(UnauthorizedError):
            join_tokens.verify(bad, secrets=secrets, secret_id=secret_id)


class FakeSecrets:
    """A Secrets Manager client holding one secret, counting its reads."""

    def __init__(self, value: str) -> None:
        self.value, self.reads = value, 0

    def get_secret_value(self, *, SecretId: str) -> dict[str, str]:
        self.reads += 1
        return {"ARN": SecretId, "SecretString": self.value}


def test_the_key_is_read_once_through_the_client_given() -> None:
    # GIVEN a Secrets Manager client of the caller's own, holding the key
    key = "k" * 40
    secrets: Any = FakeSecrets(key)
    # WHEN a token is issued and then verified twice with that client
    token = join_tokens.issue(
        secrets=secrets,
        secret_id="fake-key",
        session_id="ses_f",
        tenant_id="ten_f",
        role="host",
        ttl_seconds=60,
    )
    first = join_tokens.verify(token, secrets=secrets, secret_id="fake-key")
    again = join_tokens.verify(token, secrets=secrets, secret_id="fake-key")
    # THEN the token is signed with that key (PyJWT agrees), and the key was read once
    assert (
        jwt.decode(token, key, algorithms=["HS256"], audience=join_tokens.AUDIENCE)["session_id"] == "ses_f"
    )
    assert first == again and first.session_id == "ses_f"
    assert secrets.reads == 1
