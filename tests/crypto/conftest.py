"""Fixtures of the signing tests: a local stack (moto server + API) and signed summaries stored the
way the summarize stage stores them (summary item, S3 artifacts, signature and public-key items)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentflow.aws import records
from agentflow.aws.clients import client, table
from agentflow.crypto.canonical import canonicalize, sha256_hex
from agentflow.ids import new_id
from agentflow.local.stack import LocalStack
from agentflow.reports.pdf import render_pdf
from agentflow.schemas.sessions import CreateSessionRequest
from agentflow.schemas.summary import Summary
from agentflow.services.sessions import create_session_service
from agentflow.services.signatures import SigningService, create_signing_service
from agentflow.services.tenants import create_tenant_service
from agentflow.settings import get_settings

from benchmarks.samples import summary_from_transcript


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """moto server, the template's resources and the API on 127.0.0.1; no pollers."""
    with LocalStack(pollers=False, api=True) as running:
        yield running


@pytest.fixture
def db(stack: LocalStack) -> Any:
    """The stack's DynamoDB table."""
    return table(get_settings().table_name)


@pytest.fixture
def signer(stack: LocalStack, db: Any) -> SigningService:
    """The signing service over the stack's table, KMS and alias (short backoff waits)."""
    return create_signing_service(db, client("kms"), key_alias=get_settings().signing_key_alias)


@pytest.fixture(scope="session")
def meeting_summary(data_dir: Path) -> dict[str, Any]:
    """A realistic summary JSON built from a reference transcript."""
    return summary_from_transcript(json.loads((data_dir / "transcripts" / "advisor-review.json").read_text()))


@dataclass
class Stored:
    """A signed summary as the summarize stage leaves it."""

    tenant_id: str
    api_key: str
    session: dict[str, Any]
    summary: dict[str, Any]
    summary_id: str
    record: dict[str, Any]
    pdf: bytes
    summary_bytes: bytes  # summary.json as stored: RFC 8785 bytes


def store_signed_summary(
    db: Any, signer: SigningService, summary: dict[str, Any], *, tenant_id: str, session: dict[str, Any]
) -> Stored:
    """Render, sign and store a summary exactly as the summarize stage does (see docs/SIGNING.md)."""
    bucket = get_settings().bucket_name
    recording_id, summary_id = new_id("rec"), new_id("sum")
    block = signer.prepare(summary, signature_id=new_id("sig"))
    pdf = render_pdf(Summary.model_validate(summary), session, block)
    summary_bytes = canonicalize(summary)
    s3 = client("s3")
    summary_key, pdf_key = f"artifacts/{recording_id}/summary.json", f"artifacts/{recording_id}/report.pdf"
    s3.put_object(Bucket=bucket, Key=summary_key, Body=summary_bytes, ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=pdf_key, Body=pdf, ContentType="application/pdf")
    record = signer.sign(
        block=block,
        summary=summary,
        pdf_sha256=sha256_hex(pdf),
        summary_id=summary_id,
        session_id=session["session_id"],
        tenant_id=tenant_id,
    )
    records.put_new(
        db,
        {
            "pk": records.tenant_pk(tenant_id),
            "sk": f"SUMMARY#{summary_id}",
            "entity": "summary",
            "gsi1pk": f"SESSION#{session['session_id']}",
            "gsi1sk": f"SUMMARY#{summary_id}",
            "summary_id": summary_id,
            "session_id": session["session_id"],
            "recording_id": recording_id,
            "tenant_id": tenant_id,
            "document_hash": block.document_hash,
            "pdf_sha256": sha256_hex(pdf),
            "signature_id": block.signature_id,
            "summary_key": summary_key,
            "pdf_key": pdf_key,
            "status": "COMPLETED",
        },
        actor="stage:summarize",
    )
    return Stored(
        tenant_id=tenant_id,
        api_key="",
        session=session,
        summary=summary,
        summary_id=summary_id,
        record=record,
        pdf=pdf,
        summary_bytes=summary_bytes,
    )


@pytest.fixture
def signed(db: Any, signer: SigningService, meeting_summary: dict[str, Any]) -> Callable[..., Stored]:
    """Make a tenant (with an API key) and a session, then store a signed summary for it."""

    def make(summary: dict[str, Any] | None = None) -> Stored:
        tenant = create_tenant_service(db).create_tenant("Signing test tenant")
        session, _ = create_session_service(db).create_session(
            CreateSessionRequest.model_validate(
                {"host": {"name": "Maria Lopez"}, "client": {"name": "James Carter"}}
            ),
            tenant.tenant_id,
            actor="test",
        )
        stored = store_signed_summary(
            db, signer, summary or meeting_summary, tenant_id=tenant.tenant_id, session=session
        )
        stored.api_key = tenant.api_key
        return stored

    return make
