"""A function that takes a second per record and writes when and where it ran (the concurrency test).

Each invocation appends ``start end pid memory`` (the context's ``memory_limit_in_mb``) to ``$FIDELITY_STATE_DIR/runs``.
"""

import os
import time
from pathlib import Path
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.time()
    time.sleep(1.0 * len(event["Records"]))
    with (Path(os.environ["FIDELITY_STATE_DIR"]) / "runs").open("a") as runs:
        runs.write(f"{started} {time.time()} {os.getpid()} {context.memory_limit_in_mb}\n")
    return {"batchItemFailures": []}
