"""Canonical JSON, compact JWS and JWK handling: pure functions, no AWS."""

from __future__ import annotations

import json

import pytest
import rfc8785
from agentflow.crypto import jws
from agentflow.crypto.canonical import canonicalize, document_hash
from agentflow.crypto.jwks import JWKError, KeySet, jwk_public_key, public_jwk, thumbprint
from agentflow.crypto.verify import verify_summary
from agentflow.errors import ValidationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_canonical_form_is_rfc8785_not_sorted_json_dumps() -> None:
    # GIVEN values where json.dumps(sort_keys=True) and JCS disagree: float formatting, non-ASCII
    # escaping, and key order by UTF-16 code units (U+1F600 is D83D DE00, before U+FB33)
    value = {"\ufb33": 1, "\U0001f600": 2, "n": 1.0, "big": 1e21, "name": "Zoë"}

    # WHEN canonicalised
    canonical = canonicalize(value)

    # THEN JCS orders by UTF-16 units, prints ES6 numbers and raw UTF-8
    assert canonical == '{"big":1e+21,"n":1,"name":"Zoë","\U0001f600":2,"\ufb33":1}'.encode()
    assert canonical != json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def test_keys_are_ordered_by_utf16_code_units_on_the_fast_path_too() -> None:
    # GIVEN only values the fast path takes, with keys whose code-point and UTF-16 orders differ
    value = {"\ufb33": 1, "\U0001f600": 2.5, "a": [1.0, "x"]}

    # THEN the astral key comes first, as UTF-16 orders it
    assert canonicalize(value) == '{"a":[1,"x"],"\U0001f600":2.5,"\ufb33":1}'.encode()


# Keys that make code-point order and UTF-16 order differ (U+FB33 sorts after U+1F600 in UTF-16).
KEYS = st.text(st.sampled_from("aZé\x00\x1f\u2028\ufb33\uffff\U0001f600\U00010000"), max_size=3) | st.text(
    max_size=6
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-7, 1e-5, 1.5e-4, 1e16, 1e20, 1e21, 123456789012345680000.0, 2.0**53, -0.0, 5e-324])
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_the_fast_path_agrees_with_the_reference_rfc8785_implementation(value: object) -> None:
    # GIVEN any JSON value (non-BMP keys, control characters, awkward floats included)
    # WHEN canonicalised by our fast path and by the rfc8785 package
    # THEN the bytes are identical
    assert canonicalize(value) == rfc8785.dumps(value)


def test_document_hash_ignores_formatting_but_not_content() -> None:
    # GIVEN the same JSON value written two ways, and one with a changed character
    compact = json.loads('{"title":"Review","decisions":[{"text":"Rebalance"}],"duration":127.0}')
    pretty = json.loads(
        '{\n  "duration": 127,\n  "decisions": [ {"text": "Rebalance"} ],\n  "title": "Review"\n}'
    )
    changed = json.loads('{"title":"Reviex","decisions":[{"text":"Rebalance"}],"duration":127.0}')

    # WHEN hashed
    # THEN formatting does not matter, content does, and the prefix is the seed's
    assert document_hash(compact) == document_hash(pretty)
    assert document_hash(compact) != document_hash(changed)
    assert document_hash(compact).startswith("SHA256:") and len(document_hash(compact)) == 7 + 64


def test_values_json_cannot_carry_exactly_are_refused() -> None:
    for value in ({"x": float("nan")}, {"x": 2**60}, {1: "non-string key"}, {"x": "\ud800"}, {"x": {1, 2}}):
        with pytest.raises(ValidationError):
            canonicalize(value)


def test_kid_is_the_rfc7638_thumbprint() -> None:
    # GIVEN the example key of RFC 7638 section 3.1
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
            "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
            "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4"
            "lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    # THEN the thumbprint is the RFC's value
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_public_jwk_round_trips_and_a_relabelled_kid_is_rejected(private_key: rsa.RSAPrivateKey) -> None:
    # GIVEN the JWK of a public key
    jwk = public_jwk(private_key.public_key())
    assert {k: jwk[k] for k in ("kty", "use", "alg")} == {"kty": "RSA", "use": "sig", "alg": "RS256"}

    # WHEN it is parsed back, or its kid is swapped for another key's
    other = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    relabelled = {**jwk, "kid": other["kid"]}

    # THEN the same key comes back, and the relabelled entry is refused and reported by KeySet
    assert jwk_public_key(jwk).public_numbers() == private_key.public_key().public_numbers()
    with pytest.raises(JWKError, match="not the thumbprint"):
        jwk_public_key(relabelled)
    keys = KeySet.from_jwks({"keys": [relabelled, jwk]})
    assert list(keys.keys) == [jwk["kid"]]
    assert "not the thumbprint" in keys.rejected[other["kid"]]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("abc.def", "three"),
        ("eyJhbGciOiJub25lIiwia2lkIjoiayJ9.e30.c2ln", "alg must be RS256"),  # alg none
        ("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "no kid"),
        ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsiLCJjcml0IjpbImV4cCJdfQ.e30.c2ln", "crit"),
        ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.e30.c2l+", "base64url"),
        ("WzFd.e30.c2ln", "not a JSON object"),
    ],
)
def test_malformed_tokens_are_refused(token: str, message: str) -> None:
    with pytest.raises(jws.JWSFormatError, match=message):
        jws.parse(token)


def test_locally_signed_token_verifies_and_each_tamper_is_reported(private_key: rsa.RSAPrivateKey) -> None:
    # GIVEN a summary signed the way the service signs it (here with a local key)
    summary = {"title": "Review", "decisions": [{"text": "Rebalance to 60/40"}]}
    jwk = public_jwk(private_key.public_key())
    manifest = {
        "signature_id": "sig_1",
        "summary_id": "sum_1",
        "session_id": "ses_1",
        "tenant_id": "ten_1",
        "document_hash": document_hash(summary),
        "pdf_sha256": "0" * 64,
        "iat": 1700000000,
    }
    signing_input = jws.signing_input(jws.header(jwk["kid"]), manifest)
    token = jws.compact(signing_input, private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))
    keys = KeySet.from_jwks({"keys": [jwk]})
    record = {
        "jws": token,
        "public_key_id": jwk["kid"],
        "algorithm": "RS256",
        "document_hash": manifest["document_hash"],
    }

    # WHEN verified as is, and with the summary, the record and the JWKS changed
    ok = verify_summary(summary=summary, signature=record, keys=keys, pdf_sha256="0" * 64)
    bad_summary = verify_summary(summary={**summary, "title": "Reviex"}, signature=record, keys=keys)
    bad_algorithm = verify_summary(summary=summary, signature={**record, "algorithm": "HS256"}, keys=keys)
    bad_pdf_hash = verify_summary(summary=summary, signature=record, keys=keys, pdf_sha256="1" * 64)
    no_key = verify_summary(summary=summary, signature=record, keys=KeySet.from_jwks({"keys": []}))

    # THEN only the untouched one is valid, each other names its reason
    assert ok.valid and ok.reasons == [] and ok.kid == jwk["kid"]
    assert not bad_summary.valid and "does not match the signed document hash" in bad_summary.reasons[0]
    assert not bad_algorithm.valid and "algorithm must be RS256" in bad_algorithm.reasons[0]
    assert not bad_pdf_hash.valid and "does not match the signed pdf_sha256" in bad_pdf_hash.reasons[0]
    assert not no_key.valid and f"key {jwk['kid']} is not in the JWKS" in no_key.reasons
