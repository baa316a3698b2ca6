"""A function that holds as many MiB as its message asks (the emulator's MemorySize tests)."""

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    held = []
    for record in event["Records"]:
        mib = int(json.loads(record["body"])["mib"])
        held.append(b"x" * (mib * 1024 * 1024))  # written, so resident (not lazily zero-mapped)
    return {"batchItemFailures": [], "held": sum(len(h) for h in held)}
