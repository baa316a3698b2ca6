"""``logs_to_file``: log lines from anywhere in the process reach the file, never the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import logging, os, subprocess, sys
    from pathlib import Path
    from aws_lambda_powertools import Logger
    from agentflow.cli.output import logs_to_file

    with logs_to_file(Path(sys.argv[1]), verbose=sys.argv[2] == "1") as terminal:
        Logger(service="agentflow-test").info("a handler's json line")
        logging.getLogger("agentflow.local").info("a stdlib line")
        print("a print")
        os.write(2, b"native code on fd 2\\n")
        subprocess.run([sys.executable, "-c", "print('a child process')"], check=True)
        terminal.write("progress for a person\\n")
    print("the report")
    """
)


def _run(tmp_path: Path, *, verbose: bool) -> tuple[subprocess.CompletedProcess[str], str]:
    log = tmp_path / "out" / "demo.log"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log), "1" if verbose else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done, log.read_text()


def _json_lines(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


LOGGED = ("a stdlib line", "a print", "native code on fd 2", "a child process")


def test_terminal_sees_progress_and_report_only(tmp_path: Path) -> None:
    # WHEN a command logs from a Powertools logger, a stdlib logger, print, fd 2 and a child process
    done, log = _run(tmp_path, verbose=False)
    # THEN the terminal holds the progress and the report, and no log line
    assert done.stdout == "the report\n"
    assert done.stderr == "progress for a person\n"
    # AND the file holds every log line, the JSON one included
    assert [line["message"] for line in _json_lines(log)] == ["a handler's json line"]
    for text in LOGGED:
        assert text in log


def test_verbose_copies_the_log_to_stderr(tmp_path: Path) -> None:
    done, log = _run(tmp_path, verbose=True)
    assert done.stdout == "the report\n"
    assert "progress for a person" in done.stderr
    assert [line["message"] for line in _json_lines(done.stderr)] == ["a handler's json line"]
    for text in LOGGED:
        assert text in done.stderr and text in log
