"""Cold import of the ``api`` function's handler next to ``import fastapi, mangum, boto3``.

Each sample is a fresh interpreter (a cold Lambda container imports once); the two kinds of
sample alternate so that load from other processes on the machine hits both alike. Prints the
median wall and CPU time of each, their ratios (goal: at most 1.3x), what the handler imports
beyond the baseline, and exits 1 when a forbidden (ML, LangGraph) module is imported.

Run: ``.venv/bin/python benchmarks/api_import.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from agentflow.api import COLD_START_FORBIDDEN

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "functions" / "api" / "handler.py"


_BASELINE = "import fastapi, mangum, boto3"
# Lambda puts the function's folder on sys.path and imports ``handler``; this does the same.
_HANDLER = (
    f"import sys; sys.path.insert(0, {str(HANDLER.parent)!r}); import handler; "
    "assert callable(handler.lambda_handler)"
)


def lambda_environment() -> dict[str, str]:
    """This process's environment plus what the Lambda runtime sets that the handler reads at import.

    The Powertools Tracer is on in Lambda (``LAMBDA_TASK_ROOT``) and off outside it, and the X-Ray
    SDK it imports is built differently in each (outside Lambda it makes two botocore clients for
    sampling: ≈ 0.35 s CPU that a Lambda cold start does not pay), so the handler is measured as
    Lambda imports it.
    """
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    return env | {
        "LAMBDA_TASK_ROOT": str(HANDLER.parent),
        "AWS_LAMBDA_FUNCTION_NAME": "agentflow-api",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }


_PROBE = """
import json, sys, time
started, cpu_started = time.perf_counter(), time.process_time()
{code}
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
roots = sorted({{name.split(".")[0] for name in sys.modules}})
print(json.dumps({{"seconds": elapsed, "cpu": cpu, "roots": roots}}))
"""


def sample(code: str, env: dict[str, str] | None = None) -> tuple[float, float, list[str]]:
    """Import ``code`` in a fresh interpreter; return (wall s, CPU s, top-level modules loaded).

    ``env``, if given, is the interpreter's whole environment (default: this process's).
    """
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"]), list(result["roots"])


def self_time_by_package(code: str, count: int, env: dict[str, str] | None = None) -> list[tuple[float, str]]:
    """Import self time (ms) summed per top-level package, costliest first (``-X importtime``)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    ).stderr
    totals: dict[str, float] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit():
            root = name.strip().split(".")[0]
            totals[root] = totals.get(root, 0.0) + int(own) / 1000
    return sorted(((ms, root) for root, ms in totals.items()), reverse=True)[:count]


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="samples of each (default 11)")
    args = parser.parse_args()

    sample(_BASELINE)  # warm the OS file cache once, for both
    lambda_env = lambda_environment()
    wall: dict[str, list[float]] = {"baseline": [], "handler": []}
    cpu: dict[str, list[float]] = {"baseline": [], "handler": []}
    roots: dict[str, set[str]] = {"baseline": set(), "handler": set()}
    for _ in range(args.repeat):
        for name, code in (("baseline", _BASELINE), ("handler", _HANDLER)):
            seconds, cpu_seconds, loaded = sample(code, lambda_env)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            roots[name].update(loaded)
    baseline_roots, handler_roots = roots["baseline"], roots["handler"]

    print(f"cold import, {args.repeat} fresh interpreters each, median [min-max]:")
    print("                                  wall                     CPU (user+sys)")
    for name, label in (
        ("baseline", "import fastapi, mangum, boto3"),
        ("handler", "functions/api/handler.py"),
    ):
        w, c = wall[name], cpu[name]
        print(
            f"  {label:30s}  {statistics.median(w):.3f} s [{min(w):.3f}-{max(w):.3f}]"
            f"   {statistics.median(c):.3f} s [{min(c):.3f}-{max(c):.3f}]"
        )
    wall_ratio = statistics.median(wall["handler"]) / statistics.median(wall["baseline"])
    cpu_ratio = statistics.median(cpu["handler"]) / statistics.median(cpu["baseline"])
    # CPU time is what a loaded machine distorts least (imports are CPU-bound once files are cached).
    print(f"  ratio handler/baseline          wall {wall_ratio:.2f}x   CPU {cpu_ratio:.2f}x")
    print(f"  goal <= 1.30x (CPU ratio): {'met' if cpu_ratio <= 1.3 else 'NOT met'}")
    extra = sorted(handler_roots - baseline_roots)
    print(f"  packages beyond the baseline    {', '.join(extra) or '-'}")
    print("  import self time per package, handler (ms, one -X importtime run):")
    for ms, root in self_time_by_package(_HANDLER, 14, lambda_env):
        print(f"    {ms:8.1f}  {root}{'' if root in baseline_roots else '   (beyond the baseline)'}")
    forbidden = sorted(handler_roots.intersection(COLD_START_FORBIDDEN))
    if forbidden:
        print(f"FORBIDDEN imports in the API function: {', '.join(forbidden)}")
        return 1
    print("  forbidden (ML / LangGraph) imports: none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
