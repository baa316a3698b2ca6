"""CLI commands of the signing area (``agentflow verify``, ``agentflow keys rotate``).

``verify`` works offline: files in, exit code out (0 valid, 1 invalid, 2 usage error), no AWS
credentials and no network. ``keys`` talks to KMS and the table of the configured (or running
local) stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _say(text: str, *, error: bool = False) -> None:
    (sys.stderr if error else sys.stdout).write(text + "\n")


class _UsageError(Exception):
    """A file that cannot be read or is not the JSON it should be."""


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise _UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _UsageError(f"{what} {path} is not JSON: {exc}") from exc


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a summary, its signature record and optionally the PDF against a JWKS file."""
    from agentflow.crypto.jwks import JWKError, KeySet
    from agentflow.crypto.verify import verify_summary

    try:
        summary = _read_json(args.summary, "summary")
        signature = _read_json(args.signature, "signature")
        document = _read_json(args.jwks, "JWKS")
        if not isinstance(signature, dict):
            raise _UsageError(f"signature {args.signature} is not a JSON object")
        if not isinstance(document, dict):
            raise _UsageError(f"JWKS {args.jwks} is not a JSON object")
        try:
            keys = KeySet.from_jwks(document)
        except JWKError as exc:
            raise _UsageError(f"JWKS {args.jwks}: {exc.message}") from exc
        try:
            pdf = Path(args.pdf).read_bytes() if args.pdf else None
        except OSError as exc:
            raise _UsageError(f"cannot read PDF {args.pdf}: {exc.strerror or exc}") from exc
    except _UsageError as exc:
        _say(f"agentflow verify: error: {exc}", error=True)
        return EXIT_USAGE
    result = verify_summary(summary=summary, signature=signature, keys=keys, pdf=pdf)
    if args.json:
        _say(json.dumps({**result.as_dict(), "kid": result.kid}))
    elif result.valid:
        checked = "summary, manifest and PDF" if pdf is not None else "summary and manifest"
        _say(f"VALID: {checked} signed by key {result.kid}")
    else:
        _say("INVALID:")
        for reason in result.reasons:
            _say(f"  - {reason}")
    return EXIT_VALID if result.valid else EXIT_INVALID


def _signing_service() -> Any:
    from agentflow.aws.clients import client, table
    from agentflow.cli import _use_running_stack
    from agentflow.services.signatures import create_signing_service
    from agentflow.settings import get_settings

    _use_running_stack()
    get_settings.cache_clear()
    settings = get_settings()
    return create_signing_service(
        table(settings.table_name), client("kms"), key_alias=settings.signing_key_alias, actor="cli"
    )


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Create a new KMS signing key, move the alias to it and publish its public key."""
    rotation = _signing_service().rotate()
    _say(
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
    from agentflow.cli import _use_running_stack
    from agentflow.services.signatures import jwks_document
    from agentflow.settings import get_settings

    _use_running_stack()
    get_settings.cache_clear()
    _say(json.dumps(jwks_document(table(get_settings().table_name)), indent=2))
    return 0


def cmd_keys_compromised(args: argparse.Namespace) -> int:
    """Withdraw a key from the JWKS (its signatures stop verifying)."""
    from agentflow.aws.clients import table
    from agentflow.cli import _use_running_stack
    from agentflow.services.signatures import mark_compromised
    from agentflow.settings import get_settings

    _use_running_stack()
    get_settings.cache_clear()
    mark_compromised(table(get_settings().table_name), args.kid, actor="cli")
    _say(f"key {args.kid} withdrawn from the JWKS")
    return 0


def register(sub: Any) -> None:
    """Add this area's subcommands to the ``agentflow`` parser's subparsers."""
    verify = sub.add_parser(
        "verify",
        help="verify a signed summary offline (exit 0 valid, 1 invalid, 2 usage error)",
        description="Check a summary JSON, its signature record and optionally the PDF against a JWKS. "
        "No AWS credentials or network are used.",
    )
    verify.add_argument("summary", help="summary.json")
    verify.add_argument("--signature", required=True, help="the signature record (signature.json)")
    verify.add_argument("--jwks", required=True, help="the JWK Set (GET /.well-known/jwks.json)")
    verify.add_argument("--pdf", default=None, help="the PDF report, to check its SHA-256 too")
    verify.add_argument("--json", action="store_true", help="print {valid, reasons, kid} as JSON")
    verify.set_defaults(func=cmd_verify)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    keys.add_parser(
        "rotate", help="new KMS key (RSA_2048, SIGN_VERIFY), move the alias; old keys stay in the JWKS"
    ).set_defaults(func=cmd_keys_rotate)
    keys.add_parser("list", help="print the published JWKS").set_defaults(func=cmd_keys_list)
    compromised = keys.add_parser("compromised", help="withdraw a key from the JWKS")
    compromised.add_argument("kid")
    compromised.set_defaults(func=cmd_keys_compromised)
