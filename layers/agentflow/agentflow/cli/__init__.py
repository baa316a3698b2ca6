"""The ``agentflow`` command: run the local stack, the demo, and operator tasks."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from agentflow import __version__


def _use_running_stack() -> None:
    """Point this process at a running ``agentflow up`` when no AWS endpoint is configured."""
    from agentflow.local import state

    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("TABLE_NAME"):
        return
    current = state.read()
    if current:
        os.environ.update(current["env"])


def cmd_up(args: argparse.Namespace) -> int:
    """Start the local stack and serve until Ctrl-C."""
    from agentflow.local import state
    from agentflow.local.stack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    started = time.perf_counter()
    stack = LocalStack().start()
    assert stack.stack is not None and stack.template is not None
    env = {k: os.environ[k] for k in stack.stack.environment(stack.template)} | {
        k: os.environ[k]
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "LOCAL_MODE",
        )
    }
    state.write(env, api_url=stack.api_url)
    print(f"AgentFlow local stack up in {time.perf_counter() - started:.1f}s")
    print(f"  API        {stack.api_url}  (docs: {stack.api_url}/docs)")
    print(f"  local AWS  {stack.endpoint_url}")
    print(f"  pollers    {len(stack.running_pollers)} (one per queue of each function)")
    print("Ctrl-C stops it.", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping…")
    stack.stop()
    state.clear()
    return 0


def cmd_tenants_create(args: argparse.Namespace) -> int:
    """Create a tenant; print its API key once."""
    from agentflow.aws.clients import table
    from agentflow.services.tenants import create_tenant_service
    from agentflow.settings import get_settings

    _use_running_stack()
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

    _use_running_stack()
    try:
        create_tenant_service(table(get_settings().table_name)).revoke_key(args.tenant_id, args.key_id)
    except NotFoundError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def cmd_models_prepare(args: argparse.Namespace) -> int:
    """Assemble and verify every model's weights (run once by ``make setup``)."""
    from agentflow.speech import diarize, whisper

    whisper.prepare_models()
    diarize.prepare_models()
    print("models ready")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    """Write the OpenAPI spec."""
    from agentflow.api.app import create_app

    spec = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(spec)
    else:
        sys.stdout.write(spec)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A recording in, a signed summary and PDF out, on the local stack."""
    from agentflow.demo import run_demo

    return run_demo(recording=args.recording, out=Path(args.out), as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="agentflow", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("up", help="start the local stack (moto, API, pollers)").set_defaults(func=cmd_up)

    demo = sub.add_parser("demo", help="run a recording through the whole pipeline")
    demo.add_argument(
        "recording", nargs="?", default=None, help="audio/video file (default: a shipped sample)"
    )
    demo.add_argument("--out", default="out/demo", help="where to write summary, signature, JWKS, PDF")
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.set_defaults(func=cmd_demo)

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

    models = sub.add_parser("models", help="model weights").add_subparsers(dest="action", required=True)
    models.add_parser("prepare", help="assemble and verify weights").set_defaults(func=cmd_models_prepare)

    openapi = sub.add_parser("openapi", help="print or write the OpenAPI spec")
    openapi.add_argument("--out", default=None)
    openapi.set_defaults(func=cmd_openapi)

    from agentflow.crypto.commands import register as register_crypto

    register_crypto(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentflow`` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
