"""Property tests of canonical JSON and the signature verifier (no AWS; a local RSA key).

tests/crypto already checks our canonical fast path byte for byte against the rfc8785 package;
these add what that does not: round trips, key-order independence, Unicode and number edge
cases, and that no random mutation of a signed summary, its record or its JWS ever verifies.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from agentflow.aws.clients import client
from agentflow.crypto import jws
from agentflow.crypto.canonical import canonicalize, document_hash
from agentflow.crypto.jwks import KeySet, public_jwk
from agentflow.crypto.verify import verify_summary
from agentflow.errors import UnauthorizedError, ValidationError
from agentflow.local.stack import LocalStack
from agentflow.services import join_tokens
from agentflow.settings import get_settings
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

SAFE_INT = 2**53 - 1
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # any Unicode scalar value (no lone surrogates)
SCALARS = st.none() | st.booleans() | st.integers(-SAFE_INT, SAFE_INT) | FLOATS | TEXT
# A whole float of 2**53 or more prints as integer digits ("9007199254740992"), which parse back as
# a Python int beyond ±(2**53 - 1), which canonicalize refuses: outside the fixed point (reported).
ROUND_TRIP_FLOATS = FLOATS.filter(lambda x: not (x.is_integer() and abs(x) >= 2**53))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE_INT, SAFE_INT) | ROUND_TRIP_FLOATS | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=25,
)
FAST = settings(max_examples=300, deadline=None)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 and 1.0 are one number; -0.0 is 0."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)  # JSON numbers are doubles: 57493185621162460 is 5.749318562116246e16
    return bool(a == b)


@FAST
@given(JSON)
def test_canonical_json_round_trips_and_is_a_fixed_point(value: Any) -> None:
    # WHEN canonicalised, parsed back and canonicalised again
    once = canonicalize(value)
    parsed = json.loads(once)
    # THEN the value is unchanged and the bytes are the same (canonical form is a fixed point)
    assert same_json(parsed, value)
    assert canonicalize(parsed) == once
    # and the bytes are UTF-8 with no whitespace outside strings
    once.decode("utf-8")


@FAST
@given(st.dictionaries(TEXT, SCALARS, min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_key_order_never_changes_the_bytes(value: dict[str, Any], rnd: Any) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert canonicalize(dict(items)) == canonicalize(value)
    assert document_hash(dict(items)) == document_hash(value)


@FAST
@given(TEXT)
@example("\u2028\u2029")  # JSON allows them raw; JCS keeps them raw
@example("\x00\x1f\x7f")
@example("\U0001f600 Zoë דּ")
def test_unicode_is_raw_utf8_except_the_control_characters_json_must_escape(text: str) -> None:
    out = canonicalize({"t": text}).decode("utf-8")
    assert json.loads(out)["t"] == text
    for ch in text:
        if ord(ch) < 0x20 or ch in '"\\':
            continue
        assert ch in out  # never \uXXXX-escaped
    assert not any(ord(c) < 0x20 for c in out)


@given(st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3))
@settings(max_examples=50, deadline=None)
def test_lone_surrogates_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        canonicalize({"t": text})


@FAST
@given(FLOATS)
@example(5e-324)
@example(1e21)
@example(1e-7)
@example(-0.0)
@example(2.0**53)
@example(0.1 + 0.2)
def test_every_finite_float_round_trips_exactly(number: float) -> None:
    text = canonicalize(number).decode()
    assert float(json.loads(text)) == number
    assert "e" not in text or "e+" in text or "e-" in text  # ES6 exponent form, never "1e21"
    assert not text.endswith(".0")


@given(st.integers().filter(lambda n: abs(n) > SAFE_INT) | st.sampled_from([math.nan, math.inf, -math.inf]))
@settings(max_examples=100, deadline=None)
def test_numbers_json_cannot_carry_exactly_are_refused(number: float) -> None:
    with pytest.raises(ValidationError):
        canonicalize({"n": number})


# ---------------------------------------------------------------------------------------- JWS


@pytest.fixture(scope="module")
def signed() -> dict[str, Any]:
    """A summary signed exactly as the service signs it (RS256 over a manifest), with a local key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = public_jwk(key.public_key())
    summary = {
        "title": "Quarterly review",
        "overview": "Ana and Ben agreed to rebalance.",
        "decisions": [{"text": "Rebalance to 60/40", "sources": ["u2"]}],
        "action_items": [{"owner": "Ben", "task": "Send the form", "due": "Friday"}],
        "duration": 127.5,
        "speakers": [{"name": "Ana", "share": 0.6}, {"name": "Ben", "share": 0.4}],
    }
    manifest = {
        "signature_id": "sig_1",
        "summary_id": "sum_1",
        "session_id": "ses_1",
        "tenant_id": "ten_1",
        "document_hash": document_hash(summary),
        "pdf_sha256": "ab" * 32,
        "iat": 1700000000,
    }
    signing_input = jws.signing_input(jws.header(jwk["kid"]), manifest)
    token = jws.compact(signing_input, key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))
    record = {"jws": token, "public_key_id": jwk["kid"], "algorithm": "RS256", **manifest}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "summary": summary,
        "record": record,
        "keys": KeySet.from_jwks({"keys": [jwk]}),
        "pdf_sha256": manifest["pdf_sha256"],
        "other_key": other,
        "kid": jwk["kid"],
    }


def _valid(signed: dict[str, Any], *, summary: Any = None, record: Any = None) -> bool:
    return verify_summary(
        summary=signed["summary"] if summary is None else summary,
        signature=signed["record"] if record is None else record,
        keys=signed["keys"],
        pdf_sha256=signed["pdf_sha256"],
    ).valid


def test_the_untouched_signature_verifies(signed: dict[str, Any]) -> None:
    assert _valid(signed)


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MUTATION = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@MUTATION
@given(st.data())
def test_no_character_change_in_the_jws_verifies(signed: dict[str, Any], data: st.DataObject) -> None:
    # GIVEN the compact JWS with one character replaced, inserted or deleted anywhere
    token = signed["record"]["jws"]
    at = data.draw(st.integers(0, len(token) - 1), label="at")
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="kind")
    char = data.draw(st.sampled_from(B64URL + ".=+/ "), label="char")
    mutated = {
        "replace": token[:at] + char + token[at + 1 :],
        "insert": token[:at] + char + token[at:],
        "delete": token[:at] + token[at + 1 :],
    }[kind]
    assume(mutated != token)
    # THEN it never verifies
    assert not _valid(signed, record={**signed["record"], "jws": mutated}), (kind, at, char)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a leaf of a JSON value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))] or [prefix]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))] or [prefix]
    return [prefix]


@MUTATION
@given(st.data())
def test_no_change_to_the_summary_verifies(signed: dict[str, Any], data: st.DataObject) -> None:
    # GIVEN the summary with one leaf replaced by another JSON value, or one key dropped
    summary = copy.deepcopy(signed["summary"])
    path = data.draw(st.sampled_from(_paths(summary)), label="path")
    parent = summary
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans(), label="drop") and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(SCALARS, label="new")
    assume(canonicalize(summary) != canonicalize(signed["summary"]))
    # THEN it never verifies
    assert not _valid(signed, summary=summary)


@MUTATION
@given(
    field=st.sampled_from(
        [
            "public_key_id",
            "algorithm",
            "signature_id",
            "summary_id",
            "session_id",
            "tenant_id",
            "document_hash",
            "pdf_sha256",
        ]
    ),
    value=TEXT,
)
def test_no_change_to_the_signature_record_verifies(signed: dict[str, Any], field: str, value: str) -> None:
    assume(value != signed["record"][field])
    assert not _valid(signed, record={**signed["record"], field: value})


@MUTATION
@given(signature=st.binary(min_size=1, max_size=512))
def test_random_signatures_never_verify(signed: dict[str, Any], signature: bytes) -> None:
    head, payload, _ = signed["record"]["jws"].split(".")
    forged = f"{head}.{payload}.{jws.b64url_encode(signature)}"
    assert not _valid(signed, record={**signed["record"], "jws": forged})


@MUTATION
@given(summary=st.dictionaries(TEXT, SCALARS, max_size=5))
def test_another_key_under_the_same_kid_never_verifies(
    signed: dict[str, Any], summary: dict[str, Any]
) -> None:
    # GIVEN any summary honestly signed, but with a key that is not the published one
    manifest = json.loads(jws.b64url_decode(signed["record"]["jws"].split(".")[1]))
    manifest["document_hash"] = document_hash(summary)
    signing_input = jws.signing_input(jws.header(signed["kid"]), manifest)
    signature = signed["other_key"].sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    record = {**signed["record"], "jws": jws.compact(signing_input, signature), "document_hash": None}
    del record["document_hash"]
    # THEN it does not verify against the JWKS
    assert not _valid(signed, summary=summary, record=record)


# ------------------------------------------------------------------------------- join tokens


@pytest.fixture(scope="module")
def join_secret() -> Iterator[str]:
    """A join-token secret in a moto server's Secrets Manager (the verifier reads it from there)."""
    with LocalStack(api=False, pollers=False):
        yield get_settings().join_token_secret_arn


@MUTATION
@given(st.data())
def test_no_character_change_in_a_join_token_verifies(join_secret: str, data: st.DataObject) -> None:
    # GIVEN a genuine host token, with one character replaced, inserted or deleted anywhere
    token = join_tokens.issue(
        secrets=client("secretsmanager"),
        secret_id=join_secret,
        session_id="ses_x",
        tenant_id="ten_x",
        role="host",
        ttl_seconds=600,
    )
    assert (
        join_tokens.verify(token, secrets=client("secretsmanager"), secret_id=join_secret).session_id
        == "ses_x"
    )
    at = data.draw(st.integers(0, len(token) - 1), label="at")
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="kind")
    char = data.draw(st.sampled_from(B64URL + ".=+/ "), label="char")
    mutated = {
        "replace": token[:at] + char + token[at + 1 :],
        "insert": token[:at] + char + token[at:],
        "delete": token[:at] + token[at + 1 :],
    }[kind]
    assume(mutated != token)
    # THEN it is refused
    with pytest.raises(UnauthorizedError):
        join_tokens.verify(mutated, secrets=client("secretsmanager"), secret_id=join_secret)


def _last_character_variants(token: str) -> list[str]:
    return [token[:-1] + c for c in B64URL if c != token[-1]]


def test_no_other_spelling_of_the_jws_signature_verifies(signed: dict[str, Any]) -> None:
    # The last base64url character carries unused bits: the variants that decode to the same
    # signature bytes (found by the mutation test above) must be refused too.
    token = signed["record"]["jws"]
    accepted = [
        t for t in _last_character_variants(token) if _valid(signed, record={**signed["record"], "jws": t})
    ]
    assert accepted == []


def test_no_other_spelling_of_a_join_token_verifies(join_secret: str) -> None:
    token = join_tokens.issue(
        secrets=client("secretsmanager"),
        secret_id=join_secret,
        session_id="ses_x",
        tenant_id="ten_x",
        role="client",
        ttl_seconds=600,
    )
    for variant in _last_character_variants(token):
        with pytest.raises(UnauthorizedError):
            join_tokens.verify(variant, secrets=client("secretsmanager"), secret_id=join_secret)
