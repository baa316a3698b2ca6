"""What the Powertools ``Tracer`` adds to the cold import of the ``api`` function.

The X-Ray SDK is imported by every ``Tracer()``, enabled or not, and an enabled one patches
libraries at construction (``auto_patch``: every module of ``aws_xray_sdk.core.patcher`` that is
installed). So the handler is built here several ways, each in fresh interpreters alternating as
in benchmarks/api_import.py (whose helpers this reuses), beside ``import boto3`` as in
benchmarks/signaling_import.py:

- without a Tracer (FastAPI app + Mangum, as the handler was before);
- with ``Tracer(patch_modules=("botocore",))`` and with a ``Tracer()`` that patches everything,
  both enabled as in Lambda (``LAMBDA_TASK_ROOT`` set, no ``POWERTOOLS_TRACE_DISABLED``);
- with a Tracer disabled by ``POWERTOOLS_TRACE_DISABLED``, as the local stack and the tests run it;
- ``functions/api/handler.py`` itself, enabled as in Lambda.

The figure is the Tracer's extra CPU time over the handler without one (the goal: < 15 %).
No X-Ray daemon is needed: patching sends nothing, and the SDK only emits when a segment closes.
This venv has more patchable libraries than the layer (``requests`` and others; the layer's are
``botocore``, ``httpx`` and the standard library's ``sqlite3``/``http.client``), so the
patch-everything figure here is an upper bound.

Every module is imported from bytecode written first into a cache of the run's own, as in
benchmarks/api_import.py (whose docstring says why).

Run: ``.venv/bin/python benchmarks/api_tracer_import.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

from api_import import (
    HANDLER,
    bytecode_cache,
    lambda_environment,
    sample,
    self_time_by_package,
    with_bytecode,
)  # benchmarks/ is this script's sys.path[0]

BASELINE = "import boto3"
_APP = "from agentflow.api.app import create_app\nfrom mangum import Mangum\nh = Mangum(create_app(), lifespan='off')\n"
# What patch_all would patch in the deployed layer (layers/agentflow/requirements.txt): the rest of
# aws_xray_sdk's list is not installed there.
LAYER_PATCHABLE = ("botocore", "httpx", "sqlite3", "httplib")
# A Mangum instance has no __name__, which capture_lambda_handler needs: a function hands off to it.
_TRACED = (
    "from aws_lambda_powertools import Tracer\n"
    f"LAYER_PATCHABLE = {LAYER_PATCHABLE!r}\n"
    "t = Tracer(service='agentflow-api'{args})\n"
    "def lambda_handler(event, context):\n"
    "    return h(event, context)\n"
    "assert callable(t.capture_lambda_handler(lambda_handler, capture_response=False))\n"
)
_HANDLER = (
    f"import sys; sys.path.insert(0, {str(HANDLER.parent)!r}); import handler; "
    "assert callable(handler.lambda_handler)"
)


LAMBDA = lambda_environment()
LOCAL = {k: v for k, v in os.environ.items() if k != "LAMBDA_TASK_ROOT"} | {
    "POWERTOOLS_TRACE_DISABLED": "true"
}
# Whole cold imports, each timed from an empty interpreter: name → (label, code).
TOTALS: dict[str, tuple[str, str]] = {
    "baseline": (BASELINE, BASELINE),
    "no_tracer": ("app + Mangum, no Tracer", _APP),
    "handler": ("functions/api/handler.py", _HANDLER),
}
# The Tracer alone, timed after the app was built in the same fresh interpreter (the difference of
# two whole imports is buried in their noise on a shared machine): name → (label, Tracer args, env).
TRACERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "botocore": ("Tracer, patch botocore", ", patch_modules=('botocore',)", LAMBDA),
    "layer": ("Tracer, patch the layer's", ", patch_modules=LAYER_PATCHABLE", LAMBDA),
    "patch_all": ("Tracer, patch all (default)", "", LAMBDA),
    "disabled": ("Tracer, disabled (local, tests)", "", LOCAL),
}
_INCREMENT = """
import json, sys, time
{pre}
before = set(sys.modules)
started, cpu_started = time.perf_counter(), time.process_time()
{code}
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
roots = sorted({{name.split(".")[0] for name in set(sys.modules) - before}})
print(json.dumps({{"seconds": elapsed, "cpu": cpu, "roots": roots}}))
"""


def increment(pre: str, code: str, env: dict[str, str]) -> tuple[float, float, list[str]]:
    """Run ``pre`` untimed, then time ``code`` (wall s, CPU s, top-level modules it added)."""
    out = subprocess.run(
        [sys.executable, "-c", _INCREMENT.format(pre=pre, code=code)],
        check=True,
        capture_output=True,
        text=True,
        cwd=HANDLER.parents[2],
        env=env,
        timeout=120,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"]), list(result["roots"])


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s [{min(values):.3f}-{max(values):.3f}]"


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="samples of each (default 9)")
    args = parser.parse_args()

    codes = [code for _, code in TOTALS.values()]
    codes += [_APP + _TRACED.format(args=tracer_args) for _, tracer_args, _ in TRACERS.values()]
    prefix = bytecode_cache(codes, LAMBDA)
    lambda_env = with_bytecode(LAMBDA, prefix)
    env_of = {name: with_bytecode(env, prefix) for name, (_, _, env) in TRACERS.items()}
    for _, code in TOTALS.values():
        sample(code, lambda_env)  # warm the OS file cache once for each
    wall: dict[str, list[float]] = {name: [] for name in [*TOTALS, *TRACERS]}
    cpu: dict[str, list[float]] = {name: [] for name in [*TOTALS, *TRACERS]}
    added: dict[str, set[str]] = {name: set() for name in TRACERS}
    for _ in range(args.repeat):
        for name, (_, code) in TOTALS.items():
            seconds, cpu_seconds, _loaded = sample(code, lambda_env)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
        for name, (_, tracer_args, _) in TRACERS.items():
            seconds, cpu_seconds, loaded = increment(_APP, _TRACED.format(args=tracer_args), env_of[name])
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            added[name].update(loaded)

    cpu_of = {name: statistics.median(c) for name, c in cpu.items()}
    wall_of = {name: statistics.median(w) for name, w in wall.items()}
    print(f"cold import, {args.repeat} fresh interpreters each, median [min-max]:")
    print("                                    wall                      CPU (user+sys)        CPU / boto3")
    for name, (label, _) in TOTALS.items():
        print(
            f"  {label:32s}  {_spread(wall[name]):25s} {_spread(cpu[name]):25s} {cpu_of[name] / cpu_of['baseline']:.2f}x"
        )
    print("the Tracer's own cost, after the app (share of the handler without it: CPU, wall):")
    for name, (label, _, _) in TRACERS.items():
        share_cpu = cpu_of[name] / cpu_of["no_tracer"] * 100
        share_wall = wall_of[name] / wall_of["no_tracer"] * 100
        print(
            f"  {label:32s}  {_spread(wall[name]):25s} {_spread(cpu[name]):25s}"
            f" {share_cpu:5.1f} % CPU, {share_wall:5.1f} % wall"
        )
        print(f"  {'':32s}  loads {', '.join(sorted(added[name])) or '-'}")
    print(
        f"  goal < 15 % (CPU), patch botocore: {'met' if cpu_of['botocore'] / cpu_of['no_tracer'] < 0.15 else 'NOT met'}"
    )
    print("  import self time per package, app + Tracer patching all (ms, one -X importtime run):")
    for ms, root in self_time_by_package(_APP + _TRACED.format(args=""), 14, lambda_env):
        print(f"    {ms:8.1f}  {root}{'   (the Tracer)' if root in added['patch_all'] else ''}")
    shutil.rmtree(prefix, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
