"""``agentflow tenants``: create a tenant (its API key shown once), revoke an API key."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentflow.cli.stack import connect


def cmd_tenants_create(args: argparse.Namespace) -> int:
    """Create a tenant; print its API key once."""
    from agentflow.aws.clients import table
    from agentflow.services.tenants import create_tenant_service
    from agentflow.settings import get_settings

    connect()
    tenant = create_tenant_service(table(get_settings().table_name)).create_tenant(args.name)
    out = {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "key_id": tenant.key_id,
        "api_key": tenant.api_key,
        "webhook_secret": tenant.webhook_secret,
    }
    print(json.dumps(out, indent=2))
    print("Store the API key and webhook secret now: they are not shown again.", file=sys.stderr)
    return 0


def cmd_tenants_revoke_key(args: argparse.Namespace) -> int:
    """Revoke an API key."""
    from agentflow.aws.clients import table
    from agentflow.errors import NotFoundError
    from agentflow.services.tenants import create_tenant_service
    from agentflow.settings import get_settings

    connect()
    try:
        create_tenant_service(table(get_settings().table_name)).revoke_key(
            tenant_id=args.tenant_id, key_id=args.key_id
        )
    except NotFoundError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def register(sub: Any) -> None:
    """Add ``tenants create|revoke-key`` to the ``agentflow`` parser's subparsers."""
    tenants = sub.add_parser("tenants", help="tenants and API keys").add_subparsers(
        dest="action", required=True
    )
    create = tenants.add_parser("create", help="create a tenant and print its API key once")
    create.add_argument("name")
    create.set_defaults(func=cmd_tenants_create)
    revoke = tenants.add_parser("revoke-key", help="revoke an API key")
    revoke.add_argument("tenant_id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_tenants_revoke_key)
