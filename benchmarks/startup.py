"""`agentflow up` start-up: seconds until it prints where the API listens (goal < 10 s).

Baseline in the same run: a fresh process that only starts moto's server (what any local AWS
costs), so the ratio is what provisioning from template.yaml, the API and the pollers add.
Usage: ``python benchmarks/startup.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BARE = (
    "from moto.server import ThreadedMotoServer; import socket; s=socket.socket(); s.bind(('127.0.0.1',0));"
    "p=s.getsockname()[1]; s.close(); m=ThreadedMotoServer(ip_address='127.0.0.1', port=p); m.start();"
    "print('API ready', flush=True); m.stop()"
)


def time_until(command: list[str], marker: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            if marker in line:
                break
        elapsed = time.perf_counter() - started
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    up = [time_until([str(BIN / "agentflow"), "up"], "API ") for _ in range(args.runs)]
    bare = [time_until([sys.executable, "-c", BARE], "API ready") for _ in range(args.runs)]
    print(
        f"agentflow up      median {statistics.median(up):5.2f} s  runs {', '.join(f'{t:.2f}' for t in up)}"
    )
    print(
        f"bare moto server  median {statistics.median(bare):5.2f} s  runs {', '.join(f'{t:.2f}' for t in bare)}"
    )
    print(f"ratio up/bare     {statistics.median(up) / statistics.median(bare):.2f}")


if __name__ == "__main__":
    main()
