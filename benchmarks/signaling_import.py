"""Cold import of the ``signaling`` function's handler next to ``import boto3`` (goal: at most 1.3x).

Like benchmarks/api_import.py (whose helpers this reuses): each sample is a fresh interpreter, the
two kinds alternate, and the CPU ratio is the figure (the least distorted by other load). Also
prints what the handler imports beyond boto3, and exits 1 when it loads a package the signaling
path must not (FastAPI, the ML stack, ``cryptography``).

Run: ``.venv/bin/python benchmarks/signaling_import.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from agentflow.api import COLD_START_FORBIDDEN
from api_import import sample, self_time_by_package  # benchmarks/ is this script's sys.path[0]

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "functions" / "signaling" / "handler.py"
BASELINE = "import boto3"
_HANDLER = (
    f"import sys; sys.path.insert(0, {str(HANDLER.parent)!r}); import handler; "
    "assert callable(handler.lambda_handler)"
)
# A ping or a relayed candidate must not pay for the HTTP API's stack or for RSA.
FORBIDDEN = COLD_START_FORBIDDEN | {"fastapi", "starlette", "mangum", "cryptography", "uvicorn", "moto"}


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="samples of each (default 11)")
    args = parser.parse_args()

    sample(BASELINE)  # warm the OS file cache once
    wall: dict[str, list[float]] = {"baseline": [], "handler": []}
    cpu: dict[str, list[float]] = {"baseline": [], "handler": []}
    roots: dict[str, set[str]] = {"baseline": set(), "handler": set()}
    for _ in range(args.repeat):
        for name, code in (("baseline", BASELINE), ("handler", _HANDLER)):
            seconds, cpu_seconds, loaded = sample(code)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            roots[name].update(loaded)

    print(f"cold import, {args.repeat} fresh interpreters each, median [min-max]:")
    print("                                  wall                     CPU (user+sys)")
    for name, label in (("baseline", BASELINE), ("handler", "functions/signaling/handler.py")):
        w, c = wall[name], cpu[name]
        print(
            f"  {label:30s}  {statistics.median(w):.3f} s [{min(w):.3f}-{max(w):.3f}]"
            f"   {statistics.median(c):.3f} s [{min(c):.3f}-{max(c):.3f}]"
        )
    wall_ratio = statistics.median(wall["handler"]) / statistics.median(wall["baseline"])
    cpu_ratio = statistics.median(cpu["handler"]) / statistics.median(cpu["baseline"])
    print(f"  ratio handler/baseline          wall {wall_ratio:.2f}x   CPU {cpu_ratio:.2f}x")
    print(f"  goal <= 1.30x (CPU ratio): {'met' if cpu_ratio <= 1.3 else 'NOT met'}")
    extra = sorted(roots["handler"] - roots["baseline"])
    print(f"  packages beyond the baseline    {', '.join(extra) or '-'}")
    print("  import self time per package, handler (ms, one -X importtime run):")
    for ms, root in self_time_by_package(_HANDLER, 12):
        print(f"    {ms:8.1f}  {root}{'' if root in roots['baseline'] else '   (beyond the baseline)'}")
    forbidden = sorted(roots["handler"] & FORBIDDEN)
    if forbidden:
        print(f"FORBIDDEN imports in the signaling function: {', '.join(forbidden)}")
        return 1
    print("  forbidden imports (FastAPI, ML, cryptography): none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
