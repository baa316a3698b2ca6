"""`agentflow up`: starts, says where the API listens, serves it, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_up_prints_api_url_serves_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("agentflow")), "up"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.search(r"API\s+(http://127\.0\.0\.1:\d+)", line)
            url = match.group(1) if match else None
        assert url, "agentflow up never printed where the API listens"
        assert httpx.get(f"{url}/health", timeout=10).json()["status"] == "ok"
        # other commands find the running stack through the state file it wrote
        assert (tmp_path / ".agentflow" / "local.json").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
    assert not (tmp_path / ".agentflow" / "local.json").exists()
