"""Retrieval and verification through the real HTTP API and the real ``agentflow verify`` process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentflow.crypto.canonical import sha256_hex
from agentflow.crypto.jwks import public_jwk
from agentflow.local.stack import LocalStack
from cryptography.hazmat.primitives import serialization

DOCS = Path(__file__).resolve().parents[2] / "docs" / "SIGNING.md"


def _offline_env() -> dict[str, str]:
    """No AWS credentials, and any AWS call would hit a closed port: verification must not need either."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true"}


def run_verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentflow.cli", "verify", *map(str, args)],
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def fetch(stack: LocalStack, signed: Callable[..., Any]) -> tuple[Any, dict[str, Any], dict[str, Any], bytes]:
    """Store a signed summary, then fetch summary, JWKS and PDF the way an integrator would."""
    stored = signed()
    with httpx.Client(base_url=stack.api_url, timeout=30) as api:
        got = api.get(
            f"/v1/sessions/{stored.session['session_id']}/summary",
            headers={"Authorization": f"Bearer {stored.api_key}"},
        )
        assert got.status_code == 200, got.text
        body = got.json()
        jwks = api.get("/.well-known/jwks.json").json()
    pdf = httpx.get(body["pdf_url"], timeout=30)
    assert pdf.status_code == 200
    return stored, body, jwks, pdf.content


def test_the_summary_route_returns_summary_signature_and_a_working_pdf_url(
    stack: LocalStack, signed: Callable[..., Any]
) -> None:
    # GIVEN a stored signed summary
    # WHEN the tenant fetches it and downloads the PDF from the presigned URL
    stored, body, _, pdf = fetch(stack, signed)

    # THEN it is the stored summary and record, and the PDF is the signed one
    assert body["summary"] == stored.summary
    assert body["signature"] == stored.record
    assert body["summary_id"] == stored.summary_id and body["status"] == "COMPLETED"
    assert sha256_hex(pdf) == body["pdf_sha256"] == stored.record["pdf_sha256"]
    expires_in = datetime.fromisoformat(body["pdf_url_expires_at"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert 280 <= expires_in.total_seconds() <= 300


def test_the_summary_route_hides_other_tenants_and_missing_summaries(
    stack: LocalStack, signed: Callable[..., Any]
) -> None:
    # GIVEN two tenants' signed summaries
    mine, theirs = signed(), signed()
    with httpx.Client(base_url=stack.api_url, timeout=30) as api:
        # WHEN one tenant asks for the other's session, or for none at all, or without a key
        other = api.get(
            f"/v1/sessions/{theirs.session['session_id']}/summary",
            headers={"Authorization": f"Bearer {mine.api_key}"},
        )
        anonymous = api.get(f"/v1/sessions/{mine.session['session_id']}/summary")

    # THEN 404 (the session does not exist for them) and 401
    assert other.status_code == 404 and other.json() == {
        "detail": f"Session {theirs.session['session_id']} not found"
    }
    assert anonymous.status_code == 401


def test_public_keys_are_served_as_jwks_and_pem_without_authentication(
    stack: LocalStack, signed: Callable[..., Any]
) -> None:
    # GIVEN a key that has signed
    stored = signed()
    kid = stored.record["public_key_id"]
    with httpx.Client(base_url=stack.api_url, timeout=30) as api:
        # WHEN an auditor fetches the JWKS and the key's PEM, and an unknown kid
        jwks = api.get("/.well-known/jwks.json")
        pem = api.get(f"/v1/public-keys/{kid}")
        unknown = api.get("/v1/public-keys/not-a-kid")

    # THEN the JWKS entry has the RFC 7517 members and the PEM is the same key
    entry = next(k for k in jwks.json()["keys"] if k["kid"] == kid)
    assert set(entry) == {"kty", "n", "e", "kid", "use", "alg"} and entry["use"] == "sig"
    assert jwks.headers["cache-control"].startswith("public")
    assert pem.headers["content-type"].startswith("application/x-pem-file")
    assert public_jwk(serialization.load_pem_public_key(pem.content)) == entry  # type: ignore[arg-type]
    assert unknown.status_code == 404


def test_the_verify_route_accepts_the_original_and_reports_tampering(
    stack: LocalStack, signed: Callable[..., Any]
) -> None:
    # GIVEN a fetched signed summary
    _, body, _, pdf = fetch(stack, signed)
    tampered = json.loads(json.dumps(body["summary"]))
    tampered["action_items"][0]["owner"] = "Someone Else"
    with httpx.Client(base_url=stack.api_url, timeout=30) as api:

        def verify(**payload: Any) -> dict[str, Any]:
            response = api.post("/v1/signatures/verify", json=payload)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        # WHEN posted as is, with a changed summary, and with another PDF hash
        ok = verify(summary=body["summary"], signature=body["signature"], pdf_sha256=sha256_hex(pdf))
        bad = verify(summary=tampered, signature=body["signature"])
        other_pdf = verify(summary=body["summary"], signature=body["signature"], pdf_sha256="f" * 64)
        malformed = api.post(
            "/v1/signatures/verify", json={"summary": {}, "signature": {}, "pdf_sha256": "xyz"}
        )

    # THEN
    assert ok == {"valid": True, "reasons": []}
    assert bad["valid"] is False and "document hash" in bad["reasons"][0]
    assert other_pdf["valid"] is False and "pdf_sha256" in other_pdf["reasons"][0]
    assert malformed.status_code == 422


def test_the_cli_verifies_offline_with_exit_codes(
    stack: LocalStack, signed: Callable[..., Any], tmp_path: Path
) -> None:
    # GIVEN the files an auditor would have: summary JSON, signature record, JWKS, PDF
    _, body, jwks, pdf = fetch(stack, signed)
    files = {
        "summary.json": json.dumps(body["summary"], indent=2).encode(),
        "signature.json": json.dumps(body["signature"], indent=2).encode(),
        "jwks.json": json.dumps(jwks).encode(),
        "report.pdf": pdf,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    changed = bytearray(pdf)
    changed[-200] ^= 0x20
    (tmp_path / "changed.pdf").write_bytes(bytes(changed))
    (tmp_path / "not.json").write_text("{")
    base = [
        tmp_path / "summary.json",
        "--signature",
        tmp_path / "signature.json",
        "--jwks",
        tmp_path / "jwks.json",
    ]

    # WHEN verified with no AWS access
    valid = run_verify(*base, "--pdf", tmp_path / "report.pdf")
    invalid = run_verify(*base, "--pdf", tmp_path / "changed.pdf")
    missing = run_verify(*base, "--pdf", tmp_path / "absent.pdf")
    not_json = run_verify(tmp_path / "not.json", *base[1:])
    no_jwks = run_verify(*base[:3])

    # THEN exit 0 / 1 / 2 with the reason
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout.startswith("VALID: summary, manifest and PDF signed by key")
    assert invalid.returncode == 1 and "the PDF does not match the signed pdf_sha256" in invalid.stdout
    assert missing.returncode == 2 and "cannot read PDF" in missing.stderr
    assert not_json.returncode == 2 and "is not JSON" in not_json.stderr
    assert no_jwks.returncode == 2 and "--jwks" in no_jwks.stderr


def _recipe() -> str:
    match = re.search(r"<!-- openssl-recipe -->\n```bash\n(.*?)```", DOCS.read_text(), re.S)
    assert match, "docs/SIGNING.md has no openssl recipe block"
    return match.group(1)


@pytest.mark.parametrize("tamper", ["none", "pdf", "summary"])
def test_the_documented_openssl_recipe_verifies_and_catches_changes(
    stack: LocalStack, signed: Callable[..., Any], tmp_path: Path, tamper: str
) -> None:
    # GIVEN the stored artifacts: summary.json (RFC 8785 bytes), report.pdf, signature.json
    stored = signed()
    pdf = stored.pdf + b"\n" if tamper == "pdf" else stored.pdf
    summary = (
        stored.summary_bytes.replace(b"Friday", b"Monday") if tamper == "summary" else stored.summary_bytes
    )
    (tmp_path / "report.pdf").write_bytes(pdf)
    (tmp_path / "summary.json").write_bytes(summary)
    (tmp_path / "signature.json").write_text(json.dumps(stored.record, indent=2))

    # WHEN the recipe from docs/SIGNING.md runs with bash, openssl and curl against the API
    done = subprocess.run(
        ["bash", "-c", _recipe()],
        cwd=tmp_path,
        env=_offline_env() | {"AGENTFLOW_API": stack.api_url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    # THEN openssl verifies the signature, and the hashes match only when nothing changed
    assert "Verified OK" in done.stdout, done.stderr
    if tamper == "none":
        assert done.returncode == 0 and "match the signed manifest" in done.stdout
    else:
        assert (
            done.returncode == 1
            and f"{'report.pdf' if tamper == 'pdf' else 'summary.json'} does not match" in done.stdout
        )
