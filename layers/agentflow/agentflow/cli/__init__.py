"""The ``agentflow`` command: run the local stack, the demo, and operator tasks.

One module per area (``local``, ``demo``, ``tenants``, ``keys``, ``verify``), each with a
``register(sub)`` that adds its subcommands; ``stack.connect`` is how a command reaches the stack.
The CLI imports the rest of the package, never the reverse.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from agentflow import __version__
from agentflow.cli import demo, keys, local, tenants, verify


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="agentflow", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    # The order of ``agentflow --help``.
    for area in (local, demo, tenants, keys, verify):
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentflow`` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
