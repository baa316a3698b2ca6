"""Request dependencies: the table and the AWS clients, settings, and who is calling.

Routes declare what they need with the ``Annotated`` aliases below; tests override the underlying
functions with ``app.dependency_overrides`` rather than patching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentflow.aws.clients import client, presigner, table
from agentflow.errors import ForbiddenError, NotFoundError, UnauthorizedError
from agentflow.services import join_tokens
from agentflow.services.summaries import SummaryService, create_summary_service
from agentflow.services.tenants import create_tenant_service
from agentflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient
else:
    # The stubs are a dev dependency; FastAPI reads these annotations at run time.
    Table = S3Client = SecretsManagerClient = SQSClient = Any


def get_table(settings: Annotated[Settings, Depends(get_settings)]) -> Table:
    """The DynamoDB table resource."""
    return table(settings.table_name)


def get_s3() -> S3Client:
    """The S3 client (presigned POSTs of uploads, the tracks' stored parts)."""
    return client("s3")


def get_presigner() -> S3Client:
    """The S3 client that signs the tracks' part URLs (SigV4: it binds their headers)."""
    return presigner()


def get_sqs() -> SQSClient:
    """The SQS client (pipeline jobs, webhook deliveries)."""
    return client("sqs")


def get_secrets() -> SecretsManagerClient:
    """The Secrets Manager client (the join tokens' signing key)."""
    return client("secretsmanager")


SettingsDep = Annotated[Settings, Depends(get_settings)]
TableDep = Annotated[Table, Depends(get_table)]
S3Dep = Annotated[S3Client, Depends(get_s3)]
PresignerDep = Annotated[S3Client, Depends(get_presigner)]
SQSDep = Annotated[SQSClient, Depends(get_sqs)]
SecretsDep = Annotated[SecretsManagerClient, Depends(get_secrets)]


def get_summary_service(table: TableDep, settings: SettingsDep) -> SummaryService:
    """Signed summaries: their items in the table, their documents in the bucket."""
    return create_summary_service(table, client("s3"), bucket=settings.bucket_name)


SummaryServiceDep = Annotated[SummaryService, Depends(get_summary_service)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant (API key) or one participant of one session (join token)."""

    tenant_id: str
    kind: Literal["api_key", "join_token"]
    actor: str  # for audit fields: "key:<key_id>" or "token:<role>:<jti>"
    session_id: str | None = None  # join tokens only
    role: Literal["host", "client"] | None = None  # join tokens only

    def require_session(self, session_id: str, *, role: Literal["host", "client"] | None = None) -> None:
        """Join tokens act on their own session (and role) only; API keys on any of their tenant's.

        A token for another session gets the same 404 as a missing session would, so that ids
        cannot be probed with a token.
        """
        if self.kind == "api_key":
            return
        if self.session_id != session_id:
            raise NotFoundError.of("Session", session_id)
        if role is not None and self.role != role:
            raise ForbiddenError(f"This action needs the {role}'s token")


# Declares the scheme in the OpenAPI spec; the check itself is ours, so every failure is the same 401.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API key (`af_…`); routes that say so also take a widget join token (a JWT).",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _credential(bearer: HTTPAuthorizationCredentials | None) -> str:
    credential = bearer.credentials.strip() if bearer is not None else ""
    if not credential:
        raise UnauthorizedError()
    return credential


def _key_principal(credential: str, table: Table) -> Principal:
    tenant = create_tenant_service(table).authenticate(credential)
    return Principal(tenant_id=tenant["tenant_id"], kind="api_key", actor=f"key:{tenant['key_id']}")


def get_tenant(bearer: BearerDep, table: TableDep) -> Principal:
    """Authenticate an API key (``Authorization: Bearer af_…``)."""
    return _key_principal(_credential(bearer), table)


def get_principal(bearer: BearerDep, table: TableDep, settings: SettingsDep) -> Principal:
    """Authenticate an API key or a widget join token (a JWT)."""
    credential = _credential(bearer)
    if credential.count(".") != 2:
        return _key_principal(credential, table)
    # The client only when a token needs it: most calls carry an API key.
    claims = join_tokens.verify(credential, secrets=get_secrets(), secret_id=settings.join_token_secret_arn)
    return Principal(
        tenant_id=claims.tenant_id,
        kind="join_token",
        actor=f"token:{claims.role}:{claims.jti}",
        session_id=claims.session_id,
        role=claims.role,
    )


TenantDep = Annotated[Principal, Depends(get_tenant)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
