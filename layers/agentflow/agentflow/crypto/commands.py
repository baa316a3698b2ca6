"""CLI commands of the signing area (``agentflow verify``, ``agentflow keys rotate``)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this area's subcommands to the ``agentflow`` parser's subparsers."""
    del sub
