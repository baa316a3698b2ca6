"""The shapes of stored items that code reads field by field (docs/DATA_MODEL.md).

boto3 returns an item as a mapping of attribute values (``str | Decimal | bytes | …``); these say
which fields an item of each kind has and of what type, so a read is checked where it is used.
Numbers come back as ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict


class Audited(TypedDict):
    """The audit fields every item carries."""

    pk: str
    sk: str
    entity: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str


class ApiKeyItem(Audited):
    """An API key: only its hash is stored (in ``pk``)."""

    gsi1pk: str
    gsi1sk: str
    key_id: str
    tenant_id: str
    status: str  # ACTIVE | REVOKED | DELETED
    prefix: str


class IdempotencyItem(Audited):
    """A claim on an ``Idempotency-Key``: the session it created, until ``expires_at_epoch`` (TTL)."""

    tenant_id: str
    body_hash: str
    session_id: str
    expires_at_epoch: Decimal | int


class PublicKeyItem(Audited):
    """A public key that has signed (or is current); the JWKS lists the ACTIVE ones."""

    gsi1pk: str
    gsi1sk: str
    kid: str
    kms_key_id: str
    kms_key_arn: str
    jwk: dict[str, Any]
    public_key_pem: str
    status: str  # ACTIVE | COMPROMISED | DELETED
