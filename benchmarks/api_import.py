"""Cold import of the ``api`` function's handler next to ``import fastapi, mangum, boto3``.

Each sample is a fresh interpreter (a cold Lambda container imports once); the two kinds of
sample alternate so that load from other processes on the machine hits both alike. Prints the
median wall and CPU time of each, their ratios (goal: at most 1.3x), what the handler imports
beyond the baseline, and exits 1 when a forbidden (ML, LangGraph) module is imported.

Bytecode is the same for both sides: every module is imported from a ``.pyc`` in a cache of this
run's own (``PYTHONPYCACHEPREFIX``), written by one untimed import first. Without it the sides
differed: pip wrote ``.pyc`` files for the libraries when it installed them, but with
``PYTHONDONTWRITEBYTECODE`` set (as on this machine) our own modules were compiled from source in
every sample (≈ 0.17 s CPU, 2026-12-02). ``--as-built`` measures what SAM's python3.12 builder
deployed before the layer's Makefile compiled it: no ``.pyc`` at all, so everything but the
standard library is compiled from source on each import (the baseline's libraries too).

``--built DIR`` measures a layer as ``sam build`` made it (``DIR``: ``.aws-sam/build/AgentFlowLayer``)
on the runtime's Python (``--python``, default ``python3.12``): the handler's import from the
layer with the bytecode its Makefile writes, against a copy of it without any ``.pyc``, alternating.

``--first-request`` also sends the first request a cold container gets, ``POST /v1/sessions`` (the
sample event in ``events/api/``) through the handler, to the local stack's moto, and reports the
request's CPU time, so that a cost moved from the import into the first request shows.

Run: ``.venv/bin/python benchmarks/api_import.py [--repeat N] [--first-request] [--as-built]``, or
``… --built .aws-sam/build/AgentFlowLayer [--python python3.12]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from pathlib import Path
from typing import Any

from agentflow.api import COLD_START_FORBIDDEN

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "functions" / "api" / "handler.py"
CREATE_SESSION = ROOT / "events" / "api" / "create_session.json"


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
{after}
print(json.dumps({{"seconds": elapsed, "cpu": cpu, "roots": roots, **extra}}))
"""
# The first request, after the import was timed: the sample event with a tenant's key, as Lambda
# hands it to the handler (a context object with the attributes Powertools reads).
_FIRST_REQUEST = """
import uuid
event = json.loads(
    open({event!r}).read().replace("{{{{API_KEY}}}}", {api_key!r}).replace("{{{{IDEMPOTENCY_KEY}}}}", str(uuid.uuid4()))
)
class Context:
    function_name = "agentflow-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:agentflow-api"
    aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return 29_000
cpu_started = time.process_time()
response = handler.lambda_handler(event, Context())
request_cpu = time.process_time() - cpu_started
assert response["statusCode"] == 201, response
extra = {{"request_cpu": request_cpu}}
"""


def bytecode_cache(codes: list[str], env: dict[str, str], *, as_built: bool = False) -> Path:
    """A bytecode cache for ``PYTHONPYCACHEPREFIX``, written by running each of ``codes`` once.

    With ``as_built``, only the standard library's bytecode is kept, as in a layer without ``.pyc``
    (SAM's python builder unpacks wheels and copies our sources; ``layers/agentflow/Makefile`` now
    compiles them) where Lambda cannot write one: every module in it is compiled from source at a
    cold start; the runtime's standard library is compiled.
    """
    prefix = Path(tempfile.mkdtemp(prefix="agentflow-pyc-"))
    writing = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for code in codes:
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            capture_output=True,
            cwd=ROOT,
            env=writing | {"PYTHONPYCACHEPREFIX": str(prefix)},
            timeout=300,
        )
    if as_built:
        paths = sysconfig.get_paths()
        for path in {paths["purelib"], paths["platlib"], str(ROOT)}:
            shutil.rmtree(prefix / Path(path).relative_to(Path(path).anchor), ignore_errors=True)
    return prefix


def with_bytecode(env: dict[str, str], prefix: Path) -> dict[str, str]:
    """``env`` importing from (and only from) the bytecode cache ``prefix``, writing nothing."""
    return env | {"PYTHONPYCACHEPREFIX": str(prefix), "PYTHONDONTWRITEBYTECODE": "1"}


def sample(code: str, env: dict[str, str] | None = None, after: str = "") -> tuple[float, float, list[str]]:
    """Import ``code`` in a fresh interpreter; return (wall s, CPU s, top-level modules loaded).

    ``env``, if given, is the interpreter's whole environment (default: this process's). ``after``
    runs untimed once the import was timed (it may set ``extra``, a dict: see ``probe``).
    """
    result = probe(code, env, after)
    return float(result["seconds"]), float(result["cpu"]), list(result["roots"])


def probe(code: str, env: dict[str, str] | None = None, after: str = "") -> dict[str, Any]:
    """Time ``code`` in a fresh interpreter, run ``after``; the probe's JSON result."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code, after=after or "extra = {}")],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


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


def first_request_code(api_key: str) -> str:
    """The untimed ``after`` part of a handler sample that sends ``POST /v1/sessions`` with ``api_key``."""
    return _FIRST_REQUEST.format(event=str(CREATE_SESSION), api_key=api_key)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s [{min(values):.3f}-{max(values):.3f}]"


def measure(repeat: int, env: dict[str, str], *, as_built: bool, after: str) -> int:
    """Alternate baseline and handler samples in ``env`` and print the figures; 1 on a forbidden import."""
    prefix = bytecode_cache(
        [
            _PROBE.format(code=_BASELINE, after="extra = {}"),
            _PROBE.format(code=_HANDLER, after=after or "extra = {}"),
        ],
        env,
        as_built=as_built,
    )
    env = with_bytecode(env, prefix)
    sample(_BASELINE, env)  # warm the OS file cache once, for both
    wall: dict[str, list[float]] = {"baseline": [], "handler": []}
    cpu: dict[str, list[float]] = {"baseline": [], "handler": []}
    request_cpu: list[float] = []
    roots: dict[str, set[str]] = {"baseline": set(), "handler": set()}
    for _ in range(repeat):
        for name, code in (("baseline", _BASELINE), ("handler", _HANDLER)):
            result = probe(code, env, after if name == "handler" else "")
            wall[name].append(float(result["seconds"]))
            cpu[name].append(float(result["cpu"]))
            roots[name].update(result["roots"])
            if "request_cpu" in result:
                request_cpu.append(float(result["request_cpu"]))
    baseline_roots, handler_roots = roots["baseline"], roots["handler"]

    bytecode = "layer compiled from source (a layer without .pyc)" if as_built else "all from bytecode"
    print(f"cold import, {repeat} fresh interpreters each, {bytecode}, median [min-max]:")
    print("                                  wall                     CPU (user+sys)")
    for name, label in (
        ("baseline", "import fastapi, mangum, boto3"),
        ("handler", "functions/api/handler.py"),
    ):
        print(f"  {label:30s}  {_spread(wall[name])}   {_spread(cpu[name])}")
    wall_ratio = statistics.median(wall["handler"]) / statistics.median(wall["baseline"])
    cpu_ratio = statistics.median(cpu["handler"]) / statistics.median(cpu["baseline"])
    # CPU time is what a loaded machine distorts least (imports are CPU-bound once files are cached).
    print(f"  ratio handler/baseline          wall {wall_ratio:.2f}x   CPU {cpu_ratio:.2f}x")
    print(f"  goal <= 1.30x (CPU ratio): {'met' if cpu_ratio <= 1.3 else 'NOT met'}")
    if request_cpu:
        both = [i + r for i, r in zip(cpu["handler"], request_cpu, strict=True)]
        print(f"  first request POST /v1/sessions CPU {_spread(request_cpu)}")
        print(
            f"  import + first request          CPU {_spread(both)}"
            f" ({statistics.median(both) / statistics.median(cpu['baseline']):.2f}x the baseline's import)"
        )
    extra = sorted(handler_roots - baseline_roots)
    print(f"  packages beyond the baseline    {', '.join(extra) or '-'}")
    print("  import self time per package, handler (ms, one -X importtime run):")
    for ms, root in self_time_by_package(_HANDLER, 14, env):
        print(f"    {ms:8.1f}  {root}{'' if root in baseline_roots else '   (beyond the baseline)'}")
    shutil.rmtree(prefix, ignore_errors=True)
    forbidden = sorted(handler_roots.intersection(COLD_START_FORBIDDEN))
    if forbidden:
        print(f"FORBIDDEN imports in the API function: {', '.join(forbidden)}")
        return 1
    print("  forbidden (ML / LangGraph) imports: none")
    return 0


def measure_built(layer: Path, python: str, repeat: int) -> int:
    """The handler's cold import from the built ``layer`` with its bytecode and without, alternating."""
    site = layer / "python"
    if not (site / "agentflow").is_dir():
        print(f"{site} holds no agentflow package: run sam build first")
        return 2
    bare = Path(tempfile.mkdtemp(prefix="agentflow-layer-")) / "python"
    shutil.copytree(site, bare, ignore=shutil.ignore_patterns("__pycache__"))
    # Only the layer and the runtime's own standard library, which Lambda ships compiled; nothing
    # may be written (Lambda's /opt is read-only).
    env = {k: v for k, v in lambda_environment().items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))} | {
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    sides = {"layer bytecode": site, "layer source only": bare}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    wall: dict[str, list[float]] = {name: [] for name in sides}
    code = _PROBE.format(code=_HANDLER, after="extra = {}")

    def run(path: Path) -> dict[str, Any]:
        out = subprocess.run(
            [python, "-s", "-c", code],
            check=True,
            capture_output=True,
            text=True,
            cwd=tempfile.gettempdir(),
            env=env | {"PYTHONPATH": str(path)},
            timeout=120,
        ).stdout
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    for path in sides.values():
        run(path)  # warm the OS file cache
    for _ in range(repeat):
        for name, path in sides.items():
            result = run(path)
            cpu[name].append(float(result["cpu"]))
            wall[name].append(float(result["seconds"]))
    shutil.rmtree(bare.parent, ignore_errors=True)
    print(f"cold import of functions/api/handler.py from {site}, {python}, {repeat} each, median [min-max]:")
    print("                                  wall                     CPU (user+sys)")
    for name in sides:
        print(f"  {name:30s}  {_spread(wall[name])}   {_spread(cpu[name])}")
    saved = statistics.median(cpu["layer source only"]) - statistics.median(cpu["layer bytecode"])
    print(f"  bytecode saves                  {saved:.3f} s CPU per cold start")
    return 0


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="samples of each (default 11)")
    parser.add_argument("--first-request", action="store_true", help="also time POST /v1/sessions")
    parser.add_argument("--as-built", action="store_true", help="no bytecode outside the stdlib")
    parser.add_argument("--built", type=Path, default=None, metavar="DIR", help="a sam build layer folder")
    parser.add_argument("--python", default="python3.12", help="with --built: the runtime's interpreter")
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} at the start"
    )
    if args.built is not None:
        return measure_built(args.built, args.python, args.repeat)
    if not args.first_request:
        return measure(args.repeat, lambda_environment(), as_built=args.as_built, after="")

    from agentflow.aws.clients import table
    from agentflow.local.stack import LocalStack
    from agentflow.services.tenants import create_tenant_service
    from agentflow.settings import get_settings

    with LocalStack(api=False, pollers=False):
        tenant = create_tenant_service(table(get_settings().table_name)).create_tenant("benchmark")
        # Lambda sets the trace header the Tracer's segment joins (the local stack sets none).
        env = lambda_environment() | {
            "_X_AMZN_TRACE_ID": f"Root=1-6745a9c0-{uuid.uuid4().hex[:24]};Sampled=1"
        }
        return measure(args.repeat, env, as_built=args.as_built, after=first_request_code(tenant.api_key))


if __name__ == "__main__":
    sys.exit(main())
