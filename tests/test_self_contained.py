"""A clone with nothing beside it is complete: no test, benchmark or Makefile path leads outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A path that climbs out of the repository: "../x", "parents[2]" from a file one folder deep, or the
# sibling folder that holds the original reference data.
_ESCAPES = re.compile(
    r"\.\./|\.parent\s*/\s*\"shared\"|\"shared\"\s*/\s*\"data\"|parents\[[2-9]\]\s*/\s*\"shared\""
)


def _sources() -> list[Path]:
    files = [ROOT / "Makefile", ROOT / ".ci" / "run"]
    for folder in ("tests", "benchmarks"):
        files += [p for p in (ROOT / folder).rglob("*.py") if p.name != Path(__file__).name]
    return files


def test_no_test_benchmark_or_makefile_path_leads_outside_the_repository() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _ESCAPES.search(line)
    ]
    assert offending == []


def test_make_demo_names_a_recording_that_every_clone_has() -> None:
    # WHEN make prints (without running) what `make demo` would do
    dry_run = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    demo_line = next(line for line in dry_run.splitlines() if " demo " in line and "agentflow" in line)
    recording = demo_line.split(" demo ", 1)[1].split()[0]
    # THEN the recording it names is inside the repository, tracked by git, and real audio
    path = (ROOT / recording).resolve()
    assert path.is_relative_to(ROOT), recording
    assert path.is_file() and path.stat().st_size > 100_000, recording
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(path.relative_to(ROOT))], cwd=ROOT, capture_output=True
    )
    assert tracked.returncode == 0, f"{recording} is not committed"


def test_reference_data_has_its_sources_and_licences() -> None:
    readme = (ROOT / "tests" / "data" / "README.md").read_text(encoding="utf-8")
    for name in ("jfk.flac", "stereo_diarization.wav", "sample.wav", "dev00.wav", "dev01.wav"):
        assert (ROOT / "tests" / "data" / name).is_file(), name
        assert name in readme, name
    assert "MIT" in readme and "CC BY 4.0" in readme
