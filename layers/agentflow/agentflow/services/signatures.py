"""Signatures: sign summaries with KMS, store the records, publish the public keys.

Items (see docs/DATA_MODEL.md):

- signature: pk ``TENANT#{tid}``, sk ``SIGNATURE#{sigid}``, gsi1 ``SESSION#{sid}`` /
  ``SIGNATURE#{sigid}``; the seed's record (``signature_id``, ``public_key_id``,
  ``signature_value``, ``document_hash``, ``algorithm``, ``created_at``) plus ``jws``, ``manifest``,
  ``pdf_sha256`` and the ids.
- public key: pk ``PUBLICKEY#{kid}``, sk ``PUBLICKEY``, gsi1 ``PUBLICKEYS`` / ``{created_at}#{kid}``;
  written once per key, when it first signs or when ``keys rotate`` makes it current. The JWKS lists
  every one whose status is ``ACTIVE`` (not ``COMPROMISED``, not deleted), so old signatures keep
  verifying after a rotation.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from agentflow.aws import keys, records
from agentflow.aws.items import PublicKeyItem, SignatureItem
from agentflow.crypto import jws, kms
from agentflow.crypto.canonical import document_hash
from agentflow.crypto.jwks import load_public_key, public_key_pem
from agentflow.crypto.manifest import ALGORITHM, SignatureBlock, build_manifest
from agentflow.errors import ConflictError, NotFoundError, SigningError, ValidationError
from agentflow.ids import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import QueryInputTableQueryTypeDef
    from mypy_boto3_kms.client import KMSClient

ACTIVE = "ACTIVE"
COMPROMISED = "COMPROMISED"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_KEY_PAGES = 100  # 100 pages of up to 1 MB: far more keys than any rotation schedule makes


class SignatureRecord(TypedDict):
    """The signature record as the API returns it and ``agentflow demo`` writes signature.json.

    The stored item's public fields: no table keys, status, KMS key id, nor audit fields but ``created_at``.
    """

    signature_id: str
    public_key_id: str
    signature_value: str
    document_hash: str
    algorithm: str
    created_at: str
    pdf_sha256: str
    summary_id: str
    session_id: str
    tenant_id: str
    jws: str
    manifest: dict[str, Any]


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as ``Decimal``; the manifest only holds integers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def public_record(item: SignatureItem) -> SignatureRecord:
    """The signature record of a stored signature item."""
    return {
        "signature_id": item["signature_id"],
        "public_key_id": item["public_key_id"],
        "signature_value": item["signature_value"],
        "document_hash": item["document_hash"],
        "algorithm": item["algorithm"],
        "created_at": item["created_at"],
        "pdf_sha256": item["pdf_sha256"],
        "summary_id": item["summary_id"],
        "session_id": item["session_id"],
        "tenant_id": item["tenant_id"],
        "jws": item["jws"],
        "manifest": _plain(item["manifest"]),
    }


def list_public_keys(table: Table) -> list[PublicKeyItem]:
    """Every published, uncompromised public-key item, oldest first."""
    items: list[PublicKeyItem] = []
    start: records.Cursor | None = None
    for _ in range(_MAX_KEY_PAGES):
        kwargs: QueryInputTableQueryTypeDef = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(keys.PUBLIC_KEYS_GSI1PK),
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = table.query(**kwargs)
        found = (records.as_item(i, kind=PublicKeyItem) for i in page.get("Items", []))
        items.extend(i for i in found if i.get("status") == ACTIVE)
        start = page.get("LastEvaluatedKey")
        if not start:
            return items
    raise RuntimeError(f"more than {_MAX_KEY_PAGES} pages of public keys")


def jwks_document(table: Table) -> dict[str, list[dict[str, Any]]]:
    """The JWK Set auditors fetch: every key that has signed (or is current) and is not compromised."""
    return {"keys": [dict(item["jwk"]) for item in list_public_keys(table)]}


def get_public_key(table: Table, kid: str) -> PublicKeyItem:
    """The public-key item for ``kid`` (``jwk``, ``public_key_pem``, ``kms_key_id``, ``status``…).

    Raises:
        NotFoundError: unknown, deleted, or compromised.
    """
    item = records.get_live(table, keys.public_key_pk(kid), keys.PUBLIC_KEY_SK, kind=PublicKeyItem)
    if item is None or item.get("status") != ACTIVE:
        raise NotFoundError.of("Public key", kid)
    return item


def mark_compromised(table: Table, kid: str, *, actor: str) -> None:
    """Take a key out of the JWKS: signatures made with it no longer verify against the JWKS."""
    try:
        records.update(
            table, keys.public_key_pk(kid), keys.PUBLIC_KEY_SK, actor=actor, values={"status": COMPROMISED}
        )
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            raise NotFoundError.of("Public key", kid) from exc
        raise


def get_signature(table: Table, *, tenant_id: str, signature_id: str) -> SignatureRecord:
    """A tenant's signature record (public fields).

    Raises:
        NotFoundError: absent, deleted, or another tenant's.
    """
    item = records.get_live(
        table, keys.tenant_pk(tenant_id), keys.signature(signature_id), kind=SignatureItem
    )
    if item is None:
        raise NotFoundError.of("Signature", signature_id)
    return public_record(item)


def publish_key(table: Table, key: kms.KmsKey, *, actor: str) -> bool:
    """Record ``key``'s public half once; return ``False`` when it was already recorded."""
    created_at = now_iso()
    try:
        records.put_new(
            table,
            {
                "pk": keys.public_key_pk(key.kid),
                "sk": keys.PUBLIC_KEY_SK,
                "entity": "public_key",
                "gsi1pk": keys.PUBLIC_KEYS_GSI1PK,
                "gsi1sk": keys.public_key_gsi1sk(created_at, key.kid),
                "kid": key.kid,
                "kms_key_id": key.key_id,
                "kms_key_arn": key.arn,
                "jwk": key.jwk,
                "public_key_pem": public_key_pem(load_public_key(key.public_key_der)),
                "status": ACTIVE,
                "created_at": created_at,
            },
            actor=actor,
        )
    except ClientError as exc:
        if records.is_conditional_failure(exc):
            return False
        raise
    return True


@dataclass(frozen=True)
class Rotation:
    """What ``rotate`` did."""

    alias: str
    previous_kid: str | None
    kid: str
    kms_key_id: str


class Sign(Protocol):
    """Sign the manifest of a rendered summary with KMS and store the signature record."""

    def __call__(
        self,
        *,
        block: SignatureBlock,
        summary: Mapping[str, Any],
        pdf_sha256: str,
        summary_id: str,
        session_id: str,
        tenant_id: str,
    ) -> SignatureRecord: ...


class Prepare(Protocol):
    """Fix the signature id, the current key and the document hash before the PDF is rendered."""

    def __call__(self, summary: Mapping[str, Any], *, signature_id: str) -> SignatureBlock: ...


class Rotate(Protocol):
    """Create a new RSA_2048 key, point the alias at it and publish its public key."""

    def __call__(self, *, description: str = ...) -> Rotation: ...


@dataclass(frozen=True)
class SigningService:
    """Operations of the signing area; see ``create_signing_service``."""

    prepare: Prepare
    sign: Sign
    rotate: Rotate


def create_signing_service(
    table: Table,
    kms_client: KMSClient,
    *,
    key_alias: str,
    actor: str = "stage:summarize",
) -> SigningService:
    """Build the signing operations over ``table`` and a KMS client.

    Args:
        table: the DynamoDB table resource.
        kms_client: a boto3 KMS client.
        key_alias: the alias that names the current signing key (``settings.signing_key_alias``).
        actor: written to the audit fields.
    """
    known: dict[str, kms.KmsKey] = {}  # kid → key, for this warm container
    published: set[str] = set()

    def current_key() -> kms.KmsKey:
        key = kms.resolve_signing_key(kms_client, key_alias)
        known[key.kid] = key
        return key

    def key_for(kid: str) -> kms.KmsKey:
        if kid in known:
            return known[kid]
        item = records.get_live(table, keys.public_key_pk(kid), keys.PUBLIC_KEY_SK, kind=PublicKeyItem)
        if item is None:
            raise SigningError(f"Signing key {kid} is unknown: prepare() names the key to sign with")
        key = kms.resolve_signing_key(kms_client, str(item["kms_key_id"]))
        if key.kid != kid:
            raise SigningError(f"KMS key {item['kms_key_id']} no longer has the public key {kid}")
        known[kid] = key
        return key

    def prepare(summary: Mapping[str, Any], *, signature_id: str) -> SignatureBlock:
        """Fix the signature id, the current key and the document hash before the PDF is rendered.

        Args:
            summary: the summary JSON as it will be stored.
            signature_id: the caller's id for the signature (the summarize stage derives it from the
                recording, so a redelivered job signs under the same id).

        Raises:
            SigningError: the alias names no enabled RSA signing key.
            ValidationError: the summary is not canonicalizable JSON.
        """
        key = current_key()
        return SignatureBlock(
            signature_id=signature_id,
            key_id=key.kid,
            algorithm=ALGORITHM,
            document_hash=document_hash(summary),
        )

    def store(item: dict[str, Any]) -> SignatureItem:
        try:
            return records.put_new(table, item, actor=actor, kind=SignatureItem)
        except ClientError as exc:
            if not records.is_conditional_failure(exc):
                raise
        # A redelivered job signs the same block again: return what was stored, if it is the same.
        existing = records.get_live(table, item["pk"], item["sk"], kind=SignatureItem)
        same = existing is not None and all(
            existing.get(k) == item[k] for k in ("document_hash", "pdf_sha256", "summary_id", "session_id")
        )
        if existing is None or not same:
            raise ConflictError(f"Signature {item['signature_id']} already exists for another document")
        return existing

    def sign(
        *,
        block: SignatureBlock,
        summary: Mapping[str, Any],
        pdf_sha256: str,
        summary_id: str,
        session_id: str,
        tenant_id: str,
    ) -> SignatureRecord:
        """Sign the manifest of a rendered summary with KMS and store the signature record.

        Args:
            block: what ``prepare`` returned (and the PDF shows).
            summary: the same summary JSON ``prepare`` saw.
            pdf_sha256: hex SHA-256 of the rendered PDF.
            summary_id: the summary item's id.
            session_id: the session's id.
            tenant_id: the owning tenant.

        Returns:
            The stored signature record.

        Raises:
            SigningError: the key is missing, disabled, withdrawn from the JWKS (compromised), or
                produced a signature that does not verify.
            ValidationError: the summary changed since ``prepare`` or ``pdf_sha256`` is not hex SHA-256.
            ConflictError: ``block.signature_id`` was already used for another document.
        """
        if document_hash(summary) != block.document_hash:
            raise ValidationError("The summary changed after prepare(): its hash is not the block's")
        if not _HEX64.fullmatch(pdf_sha256):
            raise ValidationError("pdf_sha256 must be 64 lowercase hex digits", field="pdf_sha256")
        key = key_for(block.key_id)
        # Checked now, not at prepare(): the key may have been disabled while the PDF rendered.
        kms.describe_signing_key(kms_client, key.key_id)
        found = table.get_item(Key={"pk": keys.public_key_pk(key.kid), "sk": keys.PUBLIC_KEY_SK})
        published_item = records.as_item(found["Item"], kind=PublicKeyItem) if "Item" in found else None
        if published_item is not None and published_item.get("status") != ACTIVE:
            raise SigningError(f"Signing key {key.kid} is {published_item.get('status')}: rotate the key")
        created_at = now_iso()
        manifest = build_manifest(
            signature_id=block.signature_id,
            summary_id=summary_id,
            session_id=session_id,
            tenant_id=tenant_id,
            document_hash=block.document_hash,
            pdf_sha256=pdf_sha256,
            iat=int(time.time()),
        )
        signing_input = jws.signing_input(jws.header(key.kid), manifest)
        signature = kms.sign(kms_client, key.key_id, signing_input)
        try:
            load_public_key(key.public_key_der).verify(
                signature, signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as exc:
            raise SigningError(f"KMS key {key.key_id} made a signature that does not verify") from exc
        if key.kid not in published:
            publish_key(table, key, actor=actor)
            published.add(key.kid)
        item = store(
            {
                "pk": keys.tenant_pk(tenant_id),
                "sk": keys.signature(block.signature_id),
                "entity": "signature",
                "gsi1pk": keys.session(session_id),
                "gsi1sk": keys.signature(block.signature_id),
                "status": ACTIVE,
                "signature_id": block.signature_id,
                "public_key_id": key.kid,
                "signature_value": base64.b64encode(signature).decode("ascii"),
                "document_hash": block.document_hash,
                "algorithm": ALGORITHM,
                "created_at": created_at,
                "pdf_sha256": pdf_sha256,
                "summary_id": summary_id,
                "session_id": session_id,
                "tenant_id": tenant_id,
                "jws": jws.compact(signing_input, signature),
                "manifest": manifest,
                "kms_key_id": key.key_id,
            }
        )
        return public_record(item)

    def rotate(*, description: str = "AgentFlow summary signing key (RS256)") -> Rotation:
        """Create a new RSA_2048 key, point the alias at it and publish its public key.

        The previous key stays enabled in KMS and listed in the JWKS, so its signatures verify.
        """
        try:
            previous: str | None = current_key().kid
        except SigningError:
            previous = None  # the alias is missing or its key is disabled: rotation repairs that
        meta = kms.create_signing_key(kms_client, description=description)
        kms.point_alias(kms_client, key_alias, meta["KeyId"])
        key = current_key()
        if key.key_id != meta["KeyId"]:
            raise SigningError(f"Alias {key_alias} does not name the new key {meta['KeyId']}")
        publish_key(table, key, actor=actor)
        published.add(key.kid)
        return Rotation(alias=key_alias, previous_kid=previous, kid=key.kid, kms_key_id=key.key_id)

    return SigningService(prepare=prepare, sign=sign, rotate=rotate)
