"""Where a running ``agentflow up`` tells other commands how to reach it (``.agentflow/local.json``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = Path(".agentflow") / "local.json"


def write(env: dict[str, str], *, api_url: str) -> Path:
    """Record the stack's environment and API URL (no secrets: moto's dummy credentials only)."""
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps({"env": env, "api_url": api_url, "pid": os.getpid()}, indent=2))
    return STATE_FILE


def read() -> dict[str, Any] | None:
    """The running stack's state, or ``None`` when none is recorded or its process is gone."""
    if not STATE_FILE.is_file():
        return None
    state: dict[str, Any] = json.loads(STATE_FILE.read_text())
    try:
        os.kill(int(state["pid"]), 0)
    except (ProcessLookupError, PermissionError, ValueError, KeyError):
        return None
    return state


def clear() -> None:
    """Forget the recorded stack (on shutdown)."""
    STATE_FILE.unlink(missing_ok=True)
