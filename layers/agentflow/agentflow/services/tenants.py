"""Tenants and their API keys. Only a SHA-256 of each key is stored; the key is shown once."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from agentflow.aws import keys, records
from agentflow.aws.items import ApiKeyItem, TenantItem
from agentflow.errors import NotFoundError, UnauthorizedError
from agentflow.ids import new_id, now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

API_KEY_PREFIX = "af_"


def hash_api_key(key: str) -> str:
    """The stored form of an API key: hex SHA-256 (keys are 256-bit random, so no salt is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class NewTenant:
    """What ``create_tenant`` returns: the only time the API key is visible."""

    tenant_id: str
    name: str
    key_id: str
    api_key: str
    webhook_secret: str


class KeyTenant(TenantItem):
    """The tenant an API key authenticates, with the key's id (for the audit fields)."""

    key_id: str


class CreateTenant(Protocol):
    """Create a tenant with one API key and a webhook signing secret."""

    def __call__(self, name: str, *, actor: str = ...) -> NewTenant: ...


class IssueKey(Protocol):
    """Create an API key for a tenant; return ``(key_id, key)``."""

    def __call__(self, tenant_id: str, *, actor: str) -> tuple[str, str]: ...


class RevokeKey(Protocol):
    """Revoke one of a tenant's keys (the record stays, marked REVOKED)."""

    def __call__(self, *, tenant_id: str, key_id: str, actor: str = ...) -> None: ...


class Authenticate(Protocol):
    """Return the tenant of an active API key, or raise ``UnauthorizedError``."""

    def __call__(self, key: str) -> KeyTenant: ...


class GetTenant(Protocol):
    """Return a live tenant or raise ``NotFoundError``."""

    def __call__(self, tenant_id: str) -> TenantItem: ...


@dataclass(frozen=True)
class TenantService:
    """Operations on tenants and API keys."""

    create_tenant: CreateTenant
    issue_key: IssueKey
    authenticate: Authenticate
    revoke_key: RevokeKey
    get_tenant: GetTenant


def create_tenant_service(table: Table) -> TenantService:
    """Build the tenant operations over ``table``."""

    def issue_key(tenant_id: str, *, actor: str) -> tuple[str, str]:
        """Create an API key for a tenant; return ``(key_id, key)``."""
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = new_id("key")
        records.put_new(
            table,
            {
                "pk": keys.api_key_pk(hash_api_key(key)),
                "sk": keys.API_KEY_SK,
                "entity": "api_key",
                "gsi1pk": keys.tenant_pk(tenant_id),
                "gsi1sk": keys.api_key_gsi1sk(key_id),
                "key_id": key_id,
                "tenant_id": tenant_id,
                "status": "ACTIVE",
                "prefix": key[:8],
            },
            actor=actor,
        )
        return key_id, key

    def create_tenant(name: str, *, actor: str = "cli") -> NewTenant:
        """Create a tenant with one API key and a webhook signing secret."""
        tenant_id = new_id("ten")
        secret = new_webhook_secret()
        records.put_new(
            table,
            {
                "pk": keys.tenant_pk(tenant_id),
                "sk": keys.TENANT_SK,
                "entity": "tenant",
                "tenant_id": tenant_id,
                "name": name,
                "status": "ACTIVE",
                "webhook_secrets": [secret],
            },
            actor=actor,
        )
        key_id, key = issue_key(tenant_id, actor=actor)
        return NewTenant(tenant_id=tenant_id, name=name, key_id=key_id, api_key=key, webhook_secret=secret)

    def authenticate(key: str) -> KeyTenant:
        """Return the tenant of an active API key, or raise ``UnauthorizedError``."""
        if not key.startswith(API_KEY_PREFIX) or len(key) > 200:
            raise UnauthorizedError()
        found = table.get_item(Key={"pk": keys.api_key_pk(hash_api_key(key)), "sk": keys.API_KEY_SK})
        item = records.as_item(found["Item"], kind=ApiKeyItem) if "Item" in found else None
        if item is None or item.get("status") != "ACTIVE":
            raise UnauthorizedError()
        tenant = records.get_live(table, keys.tenant_pk(item["tenant_id"]), keys.TENANT_SK, kind=TenantItem)
        if tenant is None:
            raise UnauthorizedError()
        return {**tenant, "key_id": item["key_id"]}

    def revoke_key(*, tenant_id: str, key_id: str, actor: str = "cli") -> None:
        """Revoke one of a tenant's keys (the record stays, marked REVOKED).

        Raises:
            NotFoundError: the tenant has no such live key.
        """
        items, _ = records.query_live(
            table,
            keys.tenant_pk(tenant_id),
            sk_prefix=keys.api_key_gsi1sk(key_id),
            index="gsi1",
            limit=1,
            kind=ApiKeyItem,
        )
        if not items:
            raise NotFoundError.of("API key", key_id)
        records.update(
            table,
            items[0]["pk"],
            keys.API_KEY_SK,
            actor=actor,
            values={"status": "REVOKED", "revoked_at": now_iso(), "revoked_by": actor},
        )

    def get_tenant(tenant_id: str) -> TenantItem:
        """Return a live tenant or raise ``NotFoundError``."""
        tenant = records.get_live(table, keys.tenant_pk(tenant_id), keys.TENANT_SK, kind=TenantItem)
        if tenant is None:
            raise NotFoundError.of("Tenant", tenant_id)
        return tenant

    return TenantService(
        create_tenant=create_tenant,
        issue_key=issue_key,
        authenticate=authenticate,
        revoke_key=revoke_key,
        get_tenant=get_tenant,
    )
