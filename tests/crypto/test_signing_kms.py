"""The signing service on the local stack: moto's KMS makes the real RSA signatures."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest
from agentflow import cli
from agentflow.aws import clients
from agentflow.aws.clients import client
from agentflow.crypto import jws, kms
from agentflow.crypto.canonical import sha256_hex
from agentflow.crypto.jwks import KeySet
from agentflow.crypto.verify import verify_summary
from agentflow.errors import ConflictError, SigningError, ValidationError
from agentflow.ids import new_id
from agentflow.services.signatures import SigningService, create_signing_service, jwks_document
from agentflow.settings import get_settings
from boto3.dynamodb.conditions import Key


def keyset(db: Any) -> KeySet:
    return KeySet.from_jwks(jwks_document(db))


def test_a_stored_summary_verifies_and_its_items_follow_the_data_model(
    db: Any, signed: Callable[..., Any]
) -> None:
    # GIVEN a summary signed and stored as the summarize stage does
    stored = signed()
    record = stored.record

    # WHEN it is verified with the published keys and the PDF
    result = verify_summary(summary=stored.summary, signature=record, keys=keyset(db), pdf=stored.pdf)

    # THEN it is valid, and the record and items are the documented ones
    assert result.valid, result.reasons
    assert list(record) == [  # services.signatures.SignatureRecord: the API's and signature.json's keys
        "signature_id",
        "public_key_id",
        "signature_value",
        "document_hash",
        "algorithm",
        "created_at",
        "pdf_sha256",
        "summary_id",
        "session_id",
        "tenant_id",
        "jws",
        "manifest",
    ]
    assert record["algorithm"] == "RS256" and record["document_hash"].startswith("SHA256:")
    assert base64.b64decode(record["signature_value"]) == jws.parse(record["jws"]).signature
    assert record["manifest"]["pdf_sha256"] == sha256_hex(stored.pdf) == record["pdf_sha256"]
    item = db.get_item(Key={"pk": f"TENANT#{stored.tenant_id}", "sk": f"SIGNATURE#{record['signature_id']}"})[
        "Item"
    ]
    assert item["gsi1pk"] == f"SESSION#{stored.session['session_id']}" and item["jws"] == record["jws"]
    key_item = db.get_item(Key={"pk": f"PUBLICKEY#{record['public_key_id']}", "sk": "PUBLICKEY"})["Item"]
    assert key_item["gsi1pk"] == "PUBLICKEYS" and key_item["jwk"]["kid"] == record["public_key_id"]


def test_each_key_is_recorded_once_however_often_it_signs(db: Any, signed: Callable[..., Any]) -> None:
    # GIVEN two summaries signed with the same current key
    first, second = signed(), signed()
    assert first.record["public_key_id"] == second.record["public_key_id"]

    # WHEN the public keys are listed
    items = db.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("PUBLICKEYS"))["Items"]

    # THEN that key appears once
    assert [i["kid"] for i in items].count(first.record["public_key_id"]) == 1


def _with_payload(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    manifest = json.loads(jws.b64url_decode(payload))
    return ".".join((header, jws.b64url_encode(json.dumps({**manifest, **changes}).encode()), signature))


def test_one_changed_byte_or_a_swapped_kid_makes_it_invalid_with_a_reason(
    db: Any, signed: Callable[..., Any]
) -> None:
    # GIVEN two signed summaries (two signatures, one key) and a second key in the JWKS
    stored, other = signed(), signed()
    record = stored.record
    second = create_signing_service(db, client("kms"), key_alias="alias/second-signing-key").rotate()
    keys = keyset(db)

    def check(**kwargs: Any) -> list[str]:
        args: dict[str, Any] = {"summary": stored.summary, "signature": record, "pdf": stored.pdf} | kwargs
        result = verify_summary(keys=keys, **args)
        assert not result.valid
        return result.reasons

    changed_summary = json.loads(stored.summary_bytes.replace(b"Rebalance", b"Rebalancf", 1))
    flipped_pdf = bytearray(stored.pdf)
    flipped_pdf[len(flipped_pdf) // 2] ^= 0x01
    header, payload, signature = record["jws"].split(".")
    swapped_header = jws.b64url_encode(json.dumps({"alg": "RS256", "kid": second.kid, "typ": "JWT"}).encode())

    # WHEN one thing changes at a time
    # THEN each is invalid and says why
    assert any("document hash" in r for r in check(summary=changed_summary))
    assert any("PDF does not match" in r for r in check(pdf=bytes(flipped_pdf)))
    assert any(
        "does not verify" in r
        for r in check(signature={**record, "jws": _with_payload(record["jws"], pdf_sha256="0" * 64)})
    )
    assert any(
        "does not verify" in r
        for r in check(signature={**record, "jws": f"{header}.{payload}.{other.record['jws'].split('.')[2]}"})
    )
    swapped = check(
        signature={**record, "jws": f"{swapped_header}.{payload}.{signature}", "public_key_id": second.kid}
    )
    assert any(f"does not verify with key {second.kid}" in r for r in swapped)
    assert any("names key" in r for r in check(signature={**record, "public_key_id": second.kid}))


def test_a_disabled_key_fails_with_a_clear_reason_even_though_moto_would_sign(
    db: Any, signer: SigningService, meeting_summary: dict[str, Any]
) -> None:
    # GIVEN a block prepared with the current key, which is then disabled
    kms = client("kms")
    block = signer.prepare(meeting_summary, signature_id=new_id("sig"))
    key_id = kms.describe_key(KeyId=get_settings().signing_key_alias)["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    try:
        # WHEN signing, and preparing again
        # THEN both refuse, naming the key state
        with pytest.raises(SigningError, match="Disabled"):
            signer.sign(
                block=block,
                summary=meeting_summary,
                pdf_sha256="a" * 64,
                summary_id="sum_x",
                session_id="ses_x",
                tenant_id="ten_x",
            )
        with pytest.raises(SigningError, match="Disabled"):
            signer.prepare(meeting_summary, signature_id=new_id("sig"))
    finally:
        kms.enable_key(KeyId=key_id)


def test_a_missing_alias_fails_with_a_clear_reason(db: Any, meeting_summary: dict[str, Any]) -> None:
    signer = create_signing_service(db, client("kms"), key_alias="alias/does-not-exist")
    with pytest.raises(SigningError, match="alias/does-not-exist not found"):
        signer.prepare(meeting_summary, signature_id=new_id("sig"))


class ThrottlingKms(BaseHTTPRequestHandler):
    """A KMS endpoint that throttles the first ``throttles`` calls, then signs (with fixed bytes)."""

    throttles = 2
    targets: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).targets.append(self.headers["X-Amz-Target"])
        if len(self.targets) <= self.throttles:
            status, body = 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        else:
            body = {"KeyId": "k", "Signature": base64.b64encode(b"sig").decode(), "SigningAlgorithm": "x"}
            status = 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_throttling_is_retried_by_botocore_alone() -> None:
    # GIVEN a KMS that throttles twice, and a client with the stack's KMS retry schedule
    server = ThreadingHTTPServer(("127.0.0.1", 0), ThrottlingKms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kms_client = boto3.session.Session().client(
            "kms",
            endpoint_url=f"http://127.0.0.1:{server.server_port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=clients.config_for("kms"),
        )
        # WHEN signing
        signature = kms.sign(kms_client, "k", b"message")
    finally:
        server.shutdown()
    # THEN botocore retried the throttled calls: three Sign calls, no second layer of retries
    assert signature == b"sig"
    assert ThrottlingKms.targets == ["TrentService.Sign"] * 3
    assert clients.config_for("kms").retries == {"total_max_attempts": 6, "mode": "adaptive"}


def test_after_rotation_old_and_new_signatures_verify(
    db: Any, signed: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a summary signed with the current key
    old = signed()

    # WHEN the operator rotates the key with the CLI and another summary is signed
    assert cli.main(["keys", "rotate"]) == 0
    rotation = json.loads(capsys.readouterr().out)
    new = signed()

    # THEN the new signature uses the new key, the alias moved, and both verify against the JWKS
    assert rotation["previous_kid"] == old.record["public_key_id"]
    assert new.record["public_key_id"] == rotation["kid"] != old.record["public_key_id"]
    alias_key = client("kms").describe_key(KeyId=get_settings().signing_key_alias)["KeyMetadata"]["KeyId"]
    assert alias_key == rotation["kms_key_id"]
    keys = keyset(db)
    assert {old.record["public_key_id"], new.record["public_key_id"]} <= set(keys.keys)
    for stored in (old, new):
        result = verify_summary(summary=stored.summary, signature=stored.record, keys=keys, pdf=stored.pdf)
        assert result.valid, result.reasons


def test_signing_is_idempotent_per_block_and_refuses_changed_inputs(
    signer: SigningService, meeting_summary: dict[str, Any]
) -> None:
    # GIVEN a block signed once, under the id its caller chose
    signature_id = new_id("sig")
    block = signer.prepare(meeting_summary, signature_id=signature_id)
    ids = {"summary_id": "sum_i", "session_id": "ses_i", "tenant_id": "ten_i"}
    first = signer.sign(block=block, summary=meeting_summary, pdf_sha256="c" * 64, **ids)
    assert block.signature_id == first["signature_id"] == signature_id

    # WHEN the same job signs it again, or signs another PDF or summary under it
    again = signer.sign(block=block, summary=meeting_summary, pdf_sha256="c" * 64, **ids)

    # THEN the stored record comes back; the others are refused
    assert again["jws"] == first["jws"]
    with pytest.raises(ConflictError):
        signer.sign(block=block, summary=meeting_summary, pdf_sha256="d" * 64, **ids)
    with pytest.raises(ValidationError, match="changed after prepare"):
        signer.sign(block=block, summary={**meeting_summary, "title": "x"}, pdf_sha256="c" * 64, **ids)
    with pytest.raises(ValidationError, match="pdf_sha256"):
        signer.sign(block=block, summary=meeting_summary, pdf_sha256="C" * 64, **ids)


def test_a_compromised_key_leaves_the_jwks_and_cannot_sign_again(
    stack: Any, db: Any, meeting_summary: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a signature made with a key of its own alias
    signer = create_signing_service(db, client("kms"), key_alias="alias/soon-compromised")
    signer.rotate()
    block = signer.prepare(meeting_summary, signature_id=new_id("sig"))
    ids = {"summary_id": "sum_c", "session_id": "ses_c", "tenant_id": "ten_c"}
    record = signer.sign(block=block, summary=meeting_summary, pdf_sha256="e" * 64, **ids)
    assert verify_summary(summary=meeting_summary, signature=record, keys=keyset(db)).valid

    # WHEN the operator withdraws that key
    assert cli.main(["keys", "compromised", record["public_key_id"]]) == 0
    capsys.readouterr()

    # THEN it is gone from the JWKS, its signature no longer verifies, and it signs nothing more
    result = verify_summary(summary=meeting_summary, signature=record, keys=keyset(db))
    assert not result.valid and f"key {record['public_key_id']} is not in the JWKS" in result.reasons
    with pytest.raises(SigningError, match="COMPROMISED"):
        signer.sign(
            block=signer.prepare(meeting_summary, signature_id=new_id("sig")),
            summary=meeting_summary,
            pdf_sha256="e" * 64,
            **ids,
        )
