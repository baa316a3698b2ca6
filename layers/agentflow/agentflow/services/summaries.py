"""Summaries: the signed summary of a recording, stored by the summarize stage, read by the API.

Item: pk ``TENANT#{tid}``, sk ``SUMMARY#{sumid}``, gsi1 ``SESSION#{sid}`` / ``SUMMARY#{sumid}``;
the ids, ``document_hash``, ``pdf_sha256``, ``signature_id`` and the S3 keys of the summary JSON
(its RFC 8785 bytes) and of the PDF. The documents themselves are in S3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from agentflow.aws import keys, records
from agentflow.aws.items import SummaryItem
from agentflow.errors import NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client

COMPLETED = "COMPLETED"


class RecordSummary(Protocol):
    """Store a signed summary's item once; ``False`` when an earlier delivery already stored it."""

    def __call__(
        self,
        *,
        tenant_id: str,
        session_id: str,
        recording_id: str,
        summary_id: str,
        document_hash: str,
        pdf_sha256: str,
        signature_id: str,
        summary_key: str,
        pdf_key: str,
        actor: str,
    ) -> bool: ...


class LatestSummary(Protocol):
    """The newest completed summary item of a tenant's session; ``NotFoundError`` if none yet."""

    def __call__(self, *, tenant_id: str, session_id: str) -> SummaryItem: ...


class SummaryDocument(Protocol):
    """The summary JSON of a summary item (read from S3)."""

    def __call__(self, item: SummaryItem) -> dict[str, Any]: ...


class PdfUrl(Protocol):
    """A presigned GET URL of a summary item's PDF, downloaded as ``filename``."""

    def __call__(self, item: SummaryItem, *, filename: str, expires_in: int) -> str: ...


@dataclass(frozen=True)
class SummaryService:
    """Operations on signed summaries."""

    record: RecordSummary
    latest: LatestSummary
    document: SummaryDocument
    pdf_url: PdfUrl


def create_summary_service(table: Table, s3: S3Client, *, bucket: str) -> SummaryService:
    """Build the summary operations over ``table`` and the artifacts ``bucket``."""

    def record(
        *,
        tenant_id: str,
        session_id: str,
        recording_id: str,
        summary_id: str,
        document_hash: str,
        pdf_sha256: str,
        signature_id: str,
        summary_key: str,
        pdf_key: str,
        actor: str,
    ) -> bool:
        try:
            records.put_new(
                table,
                {
                    "pk": keys.tenant_pk(tenant_id),
                    "sk": keys.summary(summary_id),
                    "entity": "summary",
                    "gsi1pk": keys.session(session_id),
                    "gsi1sk": keys.summary(summary_id),
                    "summary_id": summary_id,
                    "session_id": session_id,
                    "recording_id": recording_id,
                    "tenant_id": tenant_id,
                    "document_hash": document_hash,
                    "pdf_sha256": pdf_sha256,
                    "signature_id": signature_id,
                    "summary_key": summary_key,
                    "pdf_key": pdf_key,
                    "status": COMPLETED,
                },
                actor=actor,
            )
        except ClientError as exc:
            if records.is_conditional_failure(exc):  # stored by an earlier delivery: fine
                return False
            raise
        return True

    def latest(*, tenant_id: str, session_id: str) -> SummaryItem:
        items, _ = records.query_live(
            table,
            keys.session(session_id),
            sk_prefix=keys.SUMMARY,
            index="gsi1",
            limit=1,
            filter_expression=Attr("tenant_id").eq(tenant_id) & Attr("status").eq(COMPLETED),
            kind=SummaryItem,
        )
        if not items:
            raise NotFoundError(f"Summary of session {session_id} not found")
        return items[0]

    def document(item: SummaryItem) -> dict[str, Any]:
        body = s3.get_object(Bucket=bucket, Key=item["summary_key"])["Body"].read()
        summary: dict[str, Any] = json.loads(body)
        return summary

    def pdf_url(item: SummaryItem, *, filename: str, expires_in: int) -> str:
        return s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": item["pdf_key"],
                "ResponseContentType": "application/pdf",
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=expires_in,
        )

    return SummaryService(record=record, latest=latest, document=document, pdf_url=pdf_url)
