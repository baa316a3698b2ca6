"""The integrator helper agentflow.webhooks: Standard Webhooks signing and verification."""

from __future__ import annotations

import json

import pytest
from agentflow.services.tenants import new_webhook_secret
from agentflow.webhooks import WebhookVerificationError, sign, signature_header, verify

# The Standard Webhooks specification's published test vector.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature: str, *, msg_id: str = VECTOR_ID, timestamp: int = VECTOR_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_sign_reproduces_the_specification_vector() -> None:
    # GIVEN the specification's secret, id, timestamp and body WHEN signed THEN its signature comes out
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY.encode()) == VECTOR_SIGNATURE


def test_verify_accepts_the_vector_and_returns_the_event() -> None:
    # GIVEN the vector's headers, with any capitalisation
    given = {k.upper(): v for k, v in headers(VECTOR_SIGNATURE).items()}
    # WHEN verified at the signing time THEN the parsed body comes back
    assert verify(VECTOR_BODY, given, VECTOR_SECRET, now=VECTOR_TIMESTAMP) == {"test": 2432232314}


@pytest.mark.parametrize(
    ("body", "signature", "now"),
    [
        ('{"test": 2432232315}', VECTOR_SIGNATURE, VECTOR_TIMESTAMP),  # body changed
        (
            VECTOR_BODY,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
            VECTOR_TIMESTAMP,
        ),  # signature changed
        (VECTOR_BODY, "v2," + VECTOR_SIGNATURE[3:], VECTOR_TIMESTAMP),  # unknown version
        (VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TIMESTAMP + 301),  # too old
        (VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TIMESTAMP - 301),  # from the future
    ],
)
def test_verify_rejects_tampering_and_stale_timestamps(body: str, signature: str, now: int) -> None:
    # GIVEN a delivery changed in one way WHEN verified THEN it is refused
    with pytest.raises(WebhookVerificationError):
        verify(body, headers(signature), VECTOR_SECRET, now=now)


def test_verify_rejects_another_id_or_missing_headers() -> None:
    # GIVEN the vector's signature presented under another message id THEN it is refused
    with pytest.raises(WebhookVerificationError):
        verify(
            VECTOR_BODY, headers(VECTOR_SIGNATURE, msg_id="msg_other"), VECTOR_SECRET, now=VECTOR_TIMESTAMP
        )
    # AND a request without the signature header is refused
    incomplete = {k: v for k, v in headers(VECTOR_SIGNATURE).items() if k != "webhook-signature"}
    with pytest.raises(WebhookVerificationError):
        verify(VECTOR_BODY, incomplete, VECTOR_SECRET, now=VECTOR_TIMESTAMP)


def test_rotation_sends_two_signatures_and_either_secret_verifies() -> None:
    # GIVEN a body signed with the new and the old secret during a rotation
    old, new, unrelated = new_webhook_secret(), new_webhook_secret(), new_webhook_secret()
    body = json.dumps({"id": "evt_1", "type": "summary.ready"})
    header = signature_header([new, old], "evt_1", 1_700_000_000, body)
    assert len(header.split(" ")) == 2
    given = headers(header, msg_id="evt_1", timestamp=1_700_000_000)
    # THEN a receiver holding either secret (or both) accepts it, and one holding neither does not
    for secrets in ([old], [new], [unrelated, new]):
        assert verify(body, given, secrets, now=1_700_000_000)["type"] == "summary.ready"
    with pytest.raises(WebhookVerificationError):
        verify(body, given, unrelated, now=1_700_000_000)


def test_tolerance_is_configurable() -> None:
    # GIVEN a delivery signed ten minutes ago THEN a ten-minute tolerance still accepts it
    assert verify(
        VECTOR_BODY,
        headers(VECTOR_SIGNATURE),
        VECTOR_SECRET,
        now=VECTOR_TIMESTAMP + 600,
        tolerance_seconds=600,
    ) == {"test": 2432232314}


def test_a_malformed_secret_is_an_error() -> None:
    with pytest.raises(ValueError, match="base64"):
        sign("whsec_not*base64", "msg", 1, b"{}")
