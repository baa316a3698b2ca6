"""``agentflow verify``: check a signed summary offline.

Files in, exit code out (0 valid, 1 invalid, 2 usage error): no AWS credentials and no network.
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


def register(sub: Any) -> None:
    """Add ``verify`` to the ``agentflow`` parser's subparsers."""
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
