"""A function that overruns its Timeout on its first attempt (the emulator's Timeout tests).

Each attempt appends a line to ``$FIDELITY_STATE_DIR/attempts``; ``done`` marks a first attempt
that ran to its end, which a stopped invocation never does.
"""

import os
import time
from pathlib import Path
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    state = Path(os.environ["FIDELITY_STATE_DIR"])
    with (state / "attempts").open("a") as attempts:
        attempts.write(f"{time.time()}\n")
    if len((state / "attempts").read_text().splitlines()) == 1:
        for _ in range(600):  # 30 s in small sleeps: a thread can be stopped between them
            time.sleep(0.05)
        (state / "done").write_text("the first attempt ran to its end")
    return {"batchItemFailures": []}
