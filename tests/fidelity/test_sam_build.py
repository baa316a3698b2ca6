"""`sam build` of the zip functions and the layer, as a deploy would build them (no Docker).

The image functions (transcribe, diarize, summarize) need a Docker engine to build, so they are
left out of a copy of the template; everything else is built from the repository as it is. SAM's
Python builder takes only wheels for Lambda's platform, so this is the test that catches a layer
pin with no wheel for the runtime (issue 18: numpy and av had none for python3.11 on Amazon
Linux 2). `sam` comes from ``.venv-sam`` (``make setup``; its pins conflict with ours).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from agentflow.local.template import PROJECT_ROOT, TEMPLATE_PATH, _CfnLoader

SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"


def zip_only_template(out: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of template.yaml without its image functions (JSON: SAM reads either)."""
    doc = yaml.load(TEMPLATE_PATH.read_text(encoding="utf-8"), Loader=_CfnLoader)
    doc["Resources"] = {
        logical_id: res
        for logical_id, res in doc["Resources"].items()
        if res.get("Properties", {}).get("PackageType") != "Image"
    }
    path = out / "template.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path, doc


def _runs(python: str | None) -> bool:
    return (
        python is not None
        and subprocess.run([python, "-c", ""], capture_output=True, check=False).returncode == 0
    )


def _runtime_python_on_path(runtime: str) -> str:
    """PATH with the runtime's interpreter first: SAM's builder runs pip with that exact version.

    A pyenv shim on PATH that is not set to that version does not run, so pyenv's own build is used.
    """
    path = os.environ.get("PATH", "")
    if not _runs(shutil.which(runtime, path=path)):
        pyenv = Path("/root/.pyenv/versions")
        version = runtime.removeprefix("python")
        found = sorted(pyenv.glob(f"{version}.*/bin/{runtime}")) if pyenv.is_dir() else []
        if not found:
            pytest.fail(f"sam build needs {runtime} on PATH (the layer's runtime, for its Makefile)")
        path = f"{found[-1].parent}{os.pathsep}{path}"
    return path


@pytest.mark.slow
def test_sam_build_of_the_zip_functions_and_the_layer(tmp_path: Path) -> None:
    if not SAM.exists():
        pytest.fail(f"{SAM} is missing: run `make setup` (it makes .venv-sam from requirements-sam.txt)")
    template, doc = zip_only_template(tmp_path)
    functions = [
        logical_id
        for logical_id, res in doc["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    ]
    layer = doc["Resources"]["AgentFlowLayer"]
    (runtime,) = layer["Properties"]["CompatibleRuntimes"]  # the layer's Makefile runs its Python
    assert functions, "no zip functions in the template"
    assert "AgentFlowLayer" in doc["Resources"]
    build = tmp_path / "build"
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": _runtime_python_on_path(runtime),
    }
    done = subprocess.run(
        [
            str(SAM),
            "build",
            "--template-file",
            str(template),
            "--base-dir",
            str(PROJECT_ROOT),
            "--build-dir",
            str(build),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, f"sam build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"

    built = yaml.load((build / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader)
    for logical_id in functions:
        code = doc["Resources"][logical_id]["Properties"]["CodeUri"]
        handler = doc["Resources"][logical_id]["Properties"]["Handler"].split(".")[0]
        assert (build / logical_id / f"{handler}.py").is_file(), f"{logical_id}: no {handler}.py"
        assert (build / logical_id / f"{handler}.py").read_bytes() == (
            PROJECT_ROOT / code / f"{handler}.py"
        ).read_bytes()
        assert built["Resources"][logical_id]["Properties"]["CodeUri"] == logical_id
    site = build / "AgentFlowLayer" / "python"
    assert (site / "agentflow" / "stages" / "ingest.py").is_file()
    # The layer's compiled dependencies, as wheels for Lambda's platform.
    for package in ("numpy", "av", "pydantic_core", "cryptography"):
        assert (site / package).is_dir(), f"the layer has no {package}"
    assert list(site.glob("av/*.so")) or list(site.glob("av/**/*.so")), "av without its extension modules"
    for line in (PROJECT_ROOT / "layers/agentflow/requirements.txt").read_text().splitlines():
        pin = line.split("#", 1)[0].strip()
        if "==" in pin:
            name, version = pin.split("==")
            dist = name.replace("-", "_").lower()
            assert list(site.glob(f"{dist}-{version}.dist-info")), f"the layer lacks {name}=={version}"
    # Bytecode for the runtime, checked by hash only (layers/agentflow/Makefile), so a cold start
    # compiles nothing of ours or of the api's libraries; none for numpy and tests (size, below).
    tag = f"cpython-{runtime.removeprefix('python').replace('.', '')}"
    for module in (
        "agentflow/api/app",
        "agentflow/stages/ingest",
        "fastapi/routing",
        "pydantic/main",
        "botocore/client",
    ):
        folder, name = module.rsplit("/", 1)
        pyc = site / folder / "__pycache__" / f"{name}.{tag}.pyc"
        assert pyc.is_file(), f"the layer has no bytecode for {module}"
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, f"{pyc}: not an unchecked-hash .pyc"
    assert not list(site.glob("numpy/**/*.pyc"))
    # Lambda takes at most 250 MiB unzipped for a function and its layers.
    for logical_id in functions:
        size = sum(
            f.stat().st_size for d in (site.parent, build / logical_id) for f in d.rglob("*") if f.is_file()
        )
        assert size < 250 * 2**20, f"{logical_id} with the layer: {size / 2**20:.1f} MiB unzipped"
    # And the built layer loads on the runtime's Python (not our venv's 3.11): every zip handler
    # imports, with ingest's and assemble's PyAV and numpy, from the layer alone.
    runtimes = {doc["Resources"][f]["Properties"]["Runtime"] for f in functions}
    assert runtimes == {runtime}, runtimes
    handlers = [f for f in functions if (build / f / "handler.py").is_file()]
    probe = (
        "import importlib.util, sys\n"
        "import av, numpy, agentflow.speech.scan, agentflow.stages.ingest\n"
        "for d in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location('handler', d + '/handler.py')\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "    assert callable(module.lambda_handler), d\n"
        "print(sys.version_info[:2], av.__version__, numpy.__version__)\n"
    )
    python = shutil.which(runtime, path=env["PATH"])
    assert python is not None
    loaded = subprocess.run(
        [python, "-s", "-c", probe, *(str(build / f) for f in handlers)],
        env={
            "PYTHONPATH": str(site),
            "PATH": env["PATH"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "LOCAL_MODE": "true",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr[-4000:]
