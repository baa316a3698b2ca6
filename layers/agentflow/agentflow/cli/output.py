"""Keep log lines off a person's terminal: they go to a file; the command shows progress and results."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def logs_to_file(path: Path, *, verbose: bool = False) -> Iterator[TextIO]:
    """Send all this process writes to stdout and stderr (and log records) to ``path``.

    The local stack runs the functions' handlers in this process (or in sandboxes that inherit its
    file descriptors), and Powertools writes their JSON log lines to stdout; libraries and native
    code write to stderr. So both are redirected at the descriptor level, not just ``sys.stdout``.

    Args:
        path: the log file (appended to; its folder is created).
        verbose: also copy everything to the terminal's stderr.

    Yields:
        A stream to the terminal (the original stderr) for progress that a person should see.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_err), "w", buffering=1, encoding="utf-8", errors="replace")
    read_end, write_end = os.pipe()

    def pump() -> None:
        with path.open("ab") as log:
            while chunk := os.read(read_end, 65536):
                log.write(chunk)
                log.flush()
                if verbose:
                    os.write(saved_err, chunk)
        os.close(read_end)

    copier = threading.Thread(target=pump, name="log-file", daemon=True)
    copier.start()
    sink = os.fdopen(os.dup(write_end), "w", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    root = logging.getLogger()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(min(previous_level or logging.INFO, logging.INFO))
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield terminal
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        sink.close()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        # A child still holding the pipe would keep the copier waiting: give up on it after a while.
        copier.join(timeout=5)
        if not copier.is_alive():
            os.close(saved_err)
        terminal.close()
