"""Importing the ``api`` function loads no ML, LangGraph or PDF library (timing: benchmarks/api_import.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentflow.api import COLD_START_FORBIDDEN

ROOT = Path(__file__).resolve().parents[2]
HANDLER_DIR = ROOT / "functions" / "api"


def test_importing_the_api_handler_pulls_in_no_heavy_package() -> None:
    # GIVEN a fresh interpreter, as a cold Lambda container
    probe = (
        f"import sys, json; sys.path.insert(0, {str(HANDLER_DIR)!r}); import handler; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    # WHEN it imports functions/api/handler.py (which builds the app)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120, cwd=ROOT
    ).stdout
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    # THEN none of the heavy packages is loaded
    assert loaded & COLD_START_FORBIDDEN == set()
    assert {"fastapi", "mangum", "agentflow"} <= loaded  # the probe really imported the handler
