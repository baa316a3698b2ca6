"""Signing and verification throughput.

    .venv/bin/python benchmarks/signing.py [--sign N] [--seconds S]

Prints: local verification of a typical summary (the CLI/API path: JCS hash + RS256 + manifest
checks) against the bare RSA verify as baseline, the same for a two-hour meeting, signing through
KMS on the local moto server (prepare + sign + DynamoDB writes) against bare KMS Sign calls, and
PDF rendering. Target: local verify > 2,000/s.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rfc8785
from agentflow.aws.clients import client, table
from agentflow.crypto import jws
from agentflow.crypto.canonical import canonicalize, document_hash, sha256_hex
from agentflow.crypto.jwks import KeySet
from agentflow.crypto.verify import verify_summary
from agentflow.ids import new_id
from agentflow.local.stack import LocalStack
from agentflow.reports.pdf import render_pdf
from agentflow.schemas.summary import Summary
from agentflow.services.signatures import create_signing_service, jwks_document
from agentflow.settings import get_settings
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from samples import summary_from_transcript, synthetic_transcript

TRANSCRIPT = Path(__file__).resolve().parents[1] / "tests" / "data" / "transcripts" / "advisor-review.json"


def rate(fn: Callable[[], Any], seconds: float, *, max_calls: int = 1_000_000) -> tuple[float, int]:
    """Calls per second of ``fn`` over about ``seconds`` (after one warm-up call)."""
    fn()
    calls, started = 0, time.perf_counter()
    while calls < max_calls and time.perf_counter() - started < seconds:
        fn()
        calls += 1
    return calls / (time.perf_counter() - started), calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sign", type=int, default=50, help="signatures through local KMS")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per verify measurement")
    args = parser.parse_args()

    summary = summary_from_transcript(json.loads(TRANSCRIPT.read_text()))
    long_summary = {**summary, "transcript": synthetic_transcript(2 * 3600), "duration": 7200}
    session = {"session_id": "ses_bench", "host": {"name": "Maria Lopez"}, "client": {"name": "James Carter"}}

    with LocalStack(pollers=False, api=False):
        settings = get_settings()
        db, kms = table(settings.table_name), client("kms")
        signer = create_signing_service(db, kms, key_alias=settings.signing_key_alias)

        def sign_one(doc: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
            block = signer.prepare(doc, signature_id=new_id("sig"))
            pdf = render_pdf(Summary.model_validate(doc), session, block)
            record = signer.sign(
                block=block,
                summary=doc,
                pdf_sha256=sha256_hex(pdf),
                summary_id="sum_bench",
                session_id="ses_bench",
                tenant_id="ten_bench",
            )
            return record, pdf

        record, pdf = sign_one(summary)
        long_record, _ = sign_one(long_summary)
        keys = KeySet.from_jwks(jwks_document(db))

        # Signing through KMS (moto): the whole service call vs the bare Sign request.
        blocks = [signer.prepare(summary, signature_id=new_id("sig")) for _ in range(args.sign)]
        started = time.perf_counter()
        for block in blocks:
            signer.sign(
                block=block,
                summary=summary,
                pdf_sha256=record["pdf_sha256"],
                summary_id="sum_bench",
                session_id="ses_bench",
                tenant_id="ten_bench",
            )
        service_rate = args.sign / (time.perf_counter() - started)
        key_id = kms.describe_key(KeyId=settings.signing_key_alias)["KeyMetadata"]["KeyId"]
        message = jws.parse(record["jws"]).signing_input
        started = time.perf_counter()
        for _ in range(args.sign):
            kms.sign(
                KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256"
            )
        bare_sign_rate = args.sign / (time.perf_counter() - started)

    # Verification: fully offline from here on.
    token = jws.parse(record["jws"])
    key = keys.keys[token.kid]

    def bare_rsa() -> None:
        key.verify(token.signature, token.signing_input, padding.PKCS1v15(), hashes.SHA256())

    rsa_rate, _ = rate(bare_rsa, args.seconds)
    verify_rate, _ = rate(lambda: verify_summary(summary=summary, signature=record, keys=keys), args.seconds)
    verify_pdf_rate, _ = rate(
        lambda: verify_summary(summary=summary, signature=record, keys=keys, pdf=pdf), args.seconds
    )
    long_rate, _ = rate(
        lambda: verify_summary(summary=long_summary, signature=long_record, keys=keys), args.seconds
    )
    jcs_rate, _ = rate(lambda: document_hash(long_summary), args.seconds)
    fast_jcs_rate, _ = rate(lambda: canonicalize(summary), args.seconds)
    reference_jcs_rate, _ = rate(lambda: rfc8785.dumps(summary), args.seconds)
    assert verify_summary(summary=summary, signature=record, keys=keys, pdf=pdf).valid

    typical, long = Summary.model_validate(summary), Summary.model_validate(long_summary)
    started = time.perf_counter()
    render_pdf(typical, session, blocks[0])
    typical_pdf = time.perf_counter() - started
    started = time.perf_counter()
    render_pdf(long, session, blocks[0])
    long_pdf = time.perf_counter() - started

    summary_kb = len(json.dumps(summary)) / 1024
    long_kb = len(json.dumps(long_summary)) / 1024
    rows = [
        (f"verify, typical summary ({summary_kb:.0f} KB)", f"{verify_rate:9.0f}/s"),
        (f"verify + PDF hash ({len(pdf) / 1024:.0f} KB PDF)", f"{verify_pdf_rate:9.0f}/s"),
        ("  baseline: bare RSA-2048 verify", f"{rsa_rate:9.0f}/s  (ratio {verify_rate / rsa_rate:.2f})"),
        ("JCS, typical summary (our fast path)", f"{fast_jcs_rate:9.0f}/s"),
        (
            "  baseline: rfc8785 package",
            f"{reference_jcs_rate:9.0f}/s  (ratio {fast_jcs_rate / reference_jcs_rate:.2f})",
        ),
        (
            f"verify, 2-hour summary ({long_kb:.0f} KB)",
            f"{long_rate:9.0f}/s  (JCS hash alone {jcs_rate:.0f}/s)",
        ),
        ("sign via service, local KMS (moto)", f"{service_rate:9.1f}/s  (DescribeKey + Sign + 1 put)"),
        (
            "  baseline: bare KMS Sign (moto)",
            f"{bare_sign_rate:9.1f}/s  (ratio {service_rate / bare_sign_rate:.2f})",
        ),
        ("render PDF typical / 2-hour", f"{typical_pdf:7.2f} s / {long_pdf:.2f} s"),
    ]
    for label, value in rows:
        print(f"{label:<42}{value}")
    print(f"target local verify > 2,000/s: {'met' if verify_rate > 2000 else 'NOT met'}")


if __name__ == "__main__":
    main()
