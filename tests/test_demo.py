"""The main job: `agentflow demo` turns a recording into a verified, signed summary and PDF."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from agentflow.cli import main

from benchmarks.evaluation import normalize_words

LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."


def check_outputs(result: dict, out: Path) -> None:  # type: ignore[type-arg]
    assert result["verified"] is True, result["reasons"]
    pdf = Path(result["files"]["pdf"]).read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(pdf))  # a valid PDF: it parses, and has text
    assert len(reader.pages) >= 1 and reader.pages[0].extract_text()
    assert {p.name for p in out.iterdir()} >= {"summary.json", "signature.json", "jwks.json", "report.pdf"}
    assert len(result["summary"]["speakers"]) == 2
    assert set(result["timings"]["stages"]) == {"transcribe", "diarize", "summarize"}


@pytest.mark.slow
def test_demo_json_on_stereo_recording_as_a_command(data_dir: Path, tmp_path: Path) -> None:
    # WHEN the console script runs on a one-speaker-per-channel recording
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("agentflow")),
            "demo",
            str(data_dir / "stereo_diarization.wav"),
            "--out",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    # THEN stdout is exactly one JSON object, and the run succeeded
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    check_outputs(result, tmp_path)
    # and each channel's words went to its participant, word for word
    said = {u["speaker"]: normalize_words(u["text"]) for u in result["summary"]["transcript"]}
    assert said == {"Host": normalize_words(LEFT), "Client": normalize_words(RIGHT)}


@pytest.mark.slow
def test_demo_shows_progress_and_result_and_logs_to_a_file(data_dir: Path, tmp_path: Path) -> None:
    # WHEN a person runs the demo on a 30-second recording
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("agentflow")),
            "demo",
            str(data_dir / "sample.wav"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    # THEN it succeeded and the terminal shows the result and no JSON log line
    assert done.returncode == 0, done.stderr[-3000:]
    terminal = done.stdout.splitlines() + done.stderr.splitlines()
    assert not [line for line in terminal if line.lstrip().startswith("{")], done.stderr[-3000:]
    assert "Signature" in done.stdout and "verified" in done.stdout
    # AND the handlers' JSON log lines went to the log file in --out
    logged = [
        json.loads(line) for line in (tmp_path / "demo.log").read_text().splitlines() if line.startswith("{")
    ]
    assert logged and all(str(line.get("service", "")).startswith("agentflow-") for line in logged)


@pytest.mark.slow
def test_demo_json_on_meeting_recording(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", str(data_dir / "dev00.wav"), "--out", str(tmp_path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    check_outputs(result, tmp_path)
    assert [s["name"] for s in result["summary"]["speakers"]] == ["Speaker 1", "Speaker 2"]
    # the offline CLI agrees with the demo's own check
    files = result["files"]
    assert (
        main(
            [
                "verify",
                files["summary"],
                "--signature",
                files["signature"],
                "--jwks",
                files["jwks"],
                "--pdf",
                files["pdf"],
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.wav", None, "recording not found"),
        ("notes.txt", b"hello", "unsupported format '.txt'"),
        ("fake.mp3", b"not audio at all" * 100, "has no usable audio"),
    ],
)
def test_demo_refuses_bad_input_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code = main(["demo", str(path), "--out", str(tmp_path / "out"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["ok"] is False and message in result["error"]
    assert not (tmp_path / "out").exists()
