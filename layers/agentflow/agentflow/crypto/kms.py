"""KMS: resolve the signing key from its alias, sign with RS256, create keys for rotation.

KMS ``Sign`` in ``RAW`` mode takes at most 4096 bytes, so what is signed is a JWS signing input
over a small manifest (see ``agentflow.crypto.manifest``), never a document. KMS (and moto) would
accept a disabled key's ``Sign`` in some emulators, so the key state is checked with
``DescribeKey`` before every signature rather than trusted to the service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from agentflow.crypto.jwks import load_public_key, public_jwk
from agentflow.errors import SigningError

log = logging.getLogger(__name__)

SIGNING_ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"
KEY_SPEC = "RSA_2048"
MAX_MESSAGE_BYTES = 4096

# Transient faults (throttling, KMSInternalException, DependencyTimeoutException: 5xx) are retried
# by botocore with the schedule in agentflow.aws.clients, then by SQS if they persist.
# Permanent for this key: the stage fails with a clear reason.
KEY_UNUSABLE = frozenset(
    {
        "NotFoundException",
        "DisabledException",
        "KMSInvalidStateException",
        "InvalidKeyUsageException",
        "AccessDeniedException",
        "KeyUnavailableException",
    }
)


@dataclass(frozen=True)
class KmsKey:
    """A KMS signing key and its public half."""

    key_id: str  # the KMS key id (a UUID)
    arn: str
    public_key_der: bytes  # SubjectPublicKeyInfo, as GetPublicKey returns it
    kid: str  # RFC 7638 thumbprint of the public key (see agentflow.crypto.jwks)

    @property
    def jwk(self) -> dict[str, str]:
        """The public JWK."""
        return public_jwk(load_public_key(self.public_key_der))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unusable(key: str, exc: ClientError) -> SigningError:
    code = _code(exc)
    if code == "NotFoundException":
        return SigningError(f"Signing key {key} not found")
    if code in ("DisabledException", "KMSInvalidStateException"):
        return SigningError(f"Signing key {key} is disabled or pending deletion")
    return SigningError(f"Signing key {key} cannot sign ({code})")


def describe_signing_key(kms: Any, key: str) -> dict[str, Any]:
    """``DescribeKey`` for a key id, ARN or alias; check it can sign RS256 now.

    Raises:
        SigningError: missing, disabled, pending deletion, or not an RSA SIGN_VERIFY key.
    """
    try:
        meta: dict[str, Any] = kms.describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as exc:
        if _code(exc) in KEY_UNUSABLE:
            raise _unusable(key, exc) from exc
        raise
    if meta.get("KeyState") != "Enabled" or meta.get("Enabled") is False:
        raise SigningError(
            f"Signing key {key} ({meta.get('KeyId')}) is {meta.get('KeyState', 'not enabled')}"
        )
    if meta.get("KeyUsage") != "SIGN_VERIFY" or SIGNING_ALGORITHM not in meta.get("SigningAlgorithms", []):
        raise SigningError(f"Signing key {key} ({meta.get('KeyId')}) is not an RSA signing key")
    return meta


def resolve_signing_key(kms: Any, key: str) -> KmsKey:
    """The enabled key that ``key`` (usually the alias) names now, with its public key and kid.

    Raises:
        SigningError: see ``describe_signing_key``.
    """
    meta = describe_signing_key(kms, key)
    try:
        der = bytes(kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"])
    except ClientError as exc:
        if _code(exc) in KEY_UNUSABLE:
            raise _unusable(key, exc) from exc
        raise
    kid = public_jwk(load_public_key(der))["kid"]
    return KmsKey(key_id=meta["KeyId"], arn=meta["Arn"], public_key_der=der, kid=kid)


def sign(kms: Any, key_id: str, message: bytes) -> bytes:
    """RS256-sign ``message`` (at most 4096 bytes) with KMS; return the raw signature bytes.

    Raises:
        SigningError: the key cannot sign (state, usage, access), or the message is too long.
        ClientError: a transient fault that outlasted the retries.
    """
    if len(message) > MAX_MESSAGE_BYTES:
        raise SigningError(f"KMS signs at most {MAX_MESSAGE_BYTES} bytes, got {len(message)}")
    try:
        response = kms.sign(
            KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM
        )
    except ClientError as exc:
        if _code(exc) in KEY_UNUSABLE:
            raise _unusable(key_id, exc) from exc
        raise
    return bytes(response["Signature"])


def create_signing_key(kms: Any, *, description: str) -> dict[str, Any]:
    """Create a new RSA_2048 SIGN_VERIFY key; return its metadata."""
    meta: dict[str, Any] = kms.create_key(Description=description, KeySpec=KEY_SPEC, KeyUsage="SIGN_VERIFY")[
        "KeyMetadata"
    ]
    return meta


def point_alias(kms: Any, alias: str, key_id: str) -> None:
    """Point ``alias`` at ``key_id`` (creating the alias if it does not exist yet)."""
    try:
        kms.update_alias(AliasName=alias, TargetKeyId=key_id)
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
