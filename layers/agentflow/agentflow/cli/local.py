"""Commands for a developer's machine: ``up`` (the local stack), ``models prepare``, ``openapi``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any


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
    if stack.signaling_url:
        print(f"  signaling  {stack.signaling_url}  (the call's WebSocket API, docs/CALL.md)")
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


def register(sub: Any) -> None:
    """Add ``up``, ``models prepare`` and ``openapi`` to the ``agentflow`` parser's subparsers."""
    sub.add_parser("up", help="start the local stack (moto, API, pollers)").set_defaults(func=cmd_up)

    models = sub.add_parser("models", help="model weights").add_subparsers(dest="action", required=True)
    models.add_parser("prepare", help="assemble and verify weights").set_defaults(func=cmd_models_prepare)

    openapi = sub.add_parser("openapi", help="print or write the OpenAPI spec")
    openapi.add_argument("--out", default=None)
    openapi.set_defaults(func=cmd_openapi)
