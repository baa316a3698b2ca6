"""``agentflow keys``: rotate, list and withdraw signing keys (KMS and the table of the stack)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from agentflow.cli.stack import connect

if TYPE_CHECKING:
    from agentflow.services.signatures import SigningService


def _signing_service() -> SigningService:
    from agentflow.aws.clients import client, table
    from agentflow.services.signatures import create_signing_service
    from agentflow.settings import get_settings

    connect()
    settings = get_settings()
    return create_signing_service(
        table(settings.table_name), client("kms"), key_alias=settings.signing_key_alias, actor="cli"
    )


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Create a new KMS signing key, move the alias to it and publish its public key."""
    rotation = _signing_service().rotate()
    print(
        json.dumps(
            {
                "alias": rotation.alias,
                "previous_kid": rotation.previous_kid,
                "kid": rotation.kid,
                "kms_key_id": rotation.kms_key_id,
            },
            indent=2,
        )
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """Print the JWKS the API publishes."""
    from agentflow.aws.clients import table
    from agentflow.services.signatures import jwks_document
    from agentflow.settings import get_settings

    connect()
    print(json.dumps(jwks_document(table(get_settings().table_name)), indent=2))
    return 0


def cmd_keys_compromised(args: argparse.Namespace) -> int:
    """Withdraw a key from the JWKS (its signatures stop verifying)."""
    from agentflow.aws.clients import table
    from agentflow.services.signatures import mark_compromised
    from agentflow.settings import get_settings

    connect()
    mark_compromised(table(get_settings().table_name), args.kid, actor="cli")
    print(f"key {args.kid} withdrawn from the JWKS")
    return 0


def register(sub: Any) -> None:
    """Add ``keys rotate|list|compromised`` to the ``agentflow`` parser's subparsers."""
    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    keys.add_parser(
        "rotate", help="new KMS key (RSA_2048, SIGN_VERIFY), move the alias; old keys stay in the JWKS"
    ).set_defaults(func=cmd_keys_rotate)
    keys.add_parser("list", help="print the published JWKS").set_defaults(func=cmd_keys_list)
    compromised = keys.add_parser("compromised", help="withdraw a key from the JWKS")
    compromised.add_argument("kid")
    compromised.set_defaults(func=cmd_keys_compromised)
