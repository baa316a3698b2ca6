"""How a command reaches the stack it works on: a running ``agentflow up``, or the configured one."""

from __future__ import annotations

import os
from typing import Any


def connect(*, prefer_running: bool = False) -> dict[str, Any] | None:
    """Point this process at a running ``agentflow up``, then forget cached settings and clients.

    The running stack's environment is used when no AWS endpoint or table is configured (or always,
    with ``prefer_running``). Settings and boto3 clients are cached per process, so both caches are
    cleared whatever happened: what is read next reflects the environment now.

    Returns:
        The running stack's state (``env``, ``api_url``), or ``None`` when none was used.
    """
    from agentflow.aws import clients
    from agentflow.local import state
    from agentflow.settings import get_settings

    configured = bool(os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("TABLE_NAME"))
    running = None if configured and not prefer_running else state.read()
    if running:
        os.environ.update(running["env"])
    get_settings.cache_clear()
    clients.reset()
    return running
