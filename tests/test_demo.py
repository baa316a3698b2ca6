"""The main job: `agentflow demo` turns a recording into a verified, signed summary and PDF."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pypdf
import pytest
from agentflow.cli import main
from agentflow.cli.demo import run_demo, stage_line, stage_progress

from benchmarks.evaluation import normalize_words
from tests import fixed_analysis as fixed

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
    # the recording's progress as last seen: every stage done, in pipeline order
    progress = result["progress"]
    assert list(progress) == ["transcribe", "diarize", "summarize"]
    assert {info["status"] for info in progress.values()} == {"DONE"}
    assert all(info["seconds"] is not None and info["seconds"] >= 0 for info in progress.values())
    for stage in ("transcribe", "diarize"):
        chunks = progress[stage]["chunks"]
        assert chunks["total"] >= 1 and chunks["done"] == chunks["total"], progress
    assert progress["summarize"]["chunks"] is None


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


def fixed_analysis() -> dict[str, Any]:
    """Transcribe and diarize handlers with the real chunk orchestration around fixed computes."""
    from agentflow.stages.analysis import run_analysis
    from agentflow.stages.batch import sqs_handler
    from agentflow.stages.diarize import DIARIZE
    from agentflow.stages.transcribe import TRANSCRIBE

    analyses = {
        "transcribe": replace(TRANSCRIBE, compute=fixed.transcript, merge=fixed.merge_transcripts),
        "diarize": replace(DIARIZE, compute=fixed.diarization, merge=fixed.merge_diarizations),
    }

    def cold_start(analysis: Any) -> Any:
        # Built at the first invocation, as a cold start imports a handler: sqs_handler binds its
        # Powertools logger to this moment's stdout, which is then the demo's log file, not stdout.
        built: list[Any] = []

        def invoke(event: dict[str, Any], context: Any) -> Any:
            if not built:
                built.append(sqs_handler(analysis.stage, functools.partial(run_analysis, analysis=analysis)))
            return built[0](event, context)

        return invoke

    return {stage: cold_start(analysis) for stage, analysis in analyses.items()}


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_demo_json_reports_the_chunks_of_a_long_recording(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    isolation: Literal["thread", "process"],
) -> None:
    # GIVEN chunk jobs of at most 10 s, and fixed computes (the test is about the demo's report;
    # the models' chunked accuracy is tests/speech's); with "process", every other function
    # (ingest, summarize, webhooks) runs in a sandbox process of its own
    # WHEN the demo runs on a 30-second recording
    code = run_demo(
        recording=str(data_dir / "dev00.wav"),
        out=tmp_path,
        as_json=True,
        chunk_seconds=10,
        isolation=isolation,
        handlers=fixed_analysis(),
    )
    result = json.loads(capsys.readouterr().out)
    # THEN it succeeded, and its progress counts every chunk of both analysis stages as done
    assert code == 0, result
    check_outputs(result, tmp_path)
    for stage in ("transcribe", "diarize"):
        chunks = result["progress"][stage]["chunks"]
        assert chunks["total"] >= 3 and chunks["done"] == chunks["total"], result["progress"]
    # and the words of every chunk are in the signed transcript, once each, in order
    said = " ".join(u["text"] for u in result["summary"]["transcript"]).split()
    assert said == [f"w{s}" for s in range(1, 30)]


def test_progress_line_counts_chunks_only_for_a_cut_stage() -> None:
    recording = {
        "stages": {
            "summarize": {"status": "QUEUED"},
            "diarize": {"status": "QUEUED", "chunks": {"total": 12, "done": 0}},
            "transcribe": {"status": "RUNNING", "seconds": None, "chunks": {"total": 12, "done": 3}},
        }
    }
    progress = stage_progress(recording)
    assert list(progress) == ["transcribe", "diarize", "summarize"]
    assert progress["transcribe"] == {
        "status": "RUNNING",
        "seconds": None,
        "chunks": {"total": 12, "done": 3},
    }
    assert stage_line(progress) == "transcribe running 3/12, diarize queued 0/12, summarize queued"
    one = {"stages": {"transcribe": {"status": "DONE", "seconds": 2.5, "chunks": {"total": 1, "done": 1}}}}
    assert stage_line(stage_progress(one)) == "transcribe done"
    assert stage_line(stage_progress({"stages": {}})) == "waiting for ingest"


def test_demo_refuses_chunks_shorter_than_the_setting_allows(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "demo",
            str(data_dir / "dev00.wav"),
            "--out",
            str(tmp_path / "out"),
            "--chunk-seconds",
            "2",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["ok"] is False and "--chunk-seconds must be at least 5" in result["error"]
    assert not (tmp_path / "out").exists()
