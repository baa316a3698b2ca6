"""Two-voice meetings synthesized from the dev transcripts, through the whole pipeline's stages.

The transcribe and diarize stages' own ``compute`` (whisper with the names as hotwords, the two-party
hint), then ``speaker_turns`` and ``run_summary`` as the summarize stage calls them, with the
session's participants. Judged on the product's output: talk time per speaker against where the
voices really spoke, and the owner of every reference action item the summary finds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentflow.stages import diarize as diarize_stage
from agentflow.stages import transcribe as transcribe_stage
from agentflow.stages.summarize import speaker_turns
from agentflow.workflows import run_summary

from tests.workflows.test_extractive import best_matches

from .synthetic import synthesize, tools_available

# The bar: each speaker's talk time within 15 % of the truth.
TALK_TIME_TOLERANCE = 0.15

# Missed goal, measured 2026-12-02: the diarization gives one espeak-ng voice nearly all the talk
# (advisor-review: 113.7 s vs 3.8 s against a truth of 70.9 s / 38.9 s), so the talk times are far
# off and the naming cues, attributed to the wrong cluster, stay below the confidence (0.6, unknown).
# The cause is upstream of the merge (the CAM++ clusters of the two synthetic voices); strict, so
# that this marker goes when the diarization separates them.
pytestmark = [
    pytest.mark.xfail(strict=True, reason="diarization merges the two espeak-ng voices (issue 17 note)"),
    pytest.mark.slow,
    pytest.mark.skipif(not tools_available(), reason="espeak-ng and sox are installed by make setup"),
]


def _meeting(transcript: dict[str, Any], tmp: Path) -> tuple[dict[str, Any], dict[str, float]]:
    path = tmp / f"{transcript['name']}.wav"
    spoken = synthesize(transcript, path)
    people = transcript["participants"]
    session = {"host": {"name": people["host"]}, "client": {"name": people["client"]}}
    words = transcribe_stage.compute(path, {}, session)
    turns = diarize_stage.compute(path, {}, session)
    utterances, participants = speaker_turns(words, turns, session)
    summary = run_summary(
        utterances=utterances, participants=participants, language="en", duration=float(words["duration"])
    )
    truth: dict[str, float] = {}
    for s in spoken:
        truth[s.name] = truth.get(s.name, 0.0) + s.end - s.start
    return summary, truth


@pytest.mark.parametrize("name", ["advisor-review", "saas-onboarding", "telehealth-followup"])
def test_talk_time_and_owners_on_a_two_voice_meeting(data_dir: Path, tmp_path: Path, name: str) -> None:
    transcript = json.loads((data_dir / "transcripts" / f"{name}.json").read_text(encoding="utf-8"))
    transcript.setdefault("name", name)
    summary, truth = _meeting(transcript, tmp_path)
    speakers = {s["name"]: s for s in summary["speakers"]}
    print(
        name,
        {
            n: (round(s["talk_time_seconds"], 1), s["naming"], s["naming_confidence"])
            for n, s in speakers.items()
        },
        truth,
    )
    # THEN both voices are named after the participants, from the conversation
    assert set(speakers) == set(truth), f"{name}: speakers {list(speakers)}"
    assert {s["naming"] for s in speakers.values()} == {"conversation"}
    # AND each one's talk time is within 15 % of where that voice spoke
    for person, seconds in truth.items():
        measured = speakers[person]["talk_time_seconds"]
        assert abs(measured - seconds) <= TALK_TIME_TOLERANCE * seconds, (
            f"{name}: {person} {measured} vs {seconds}"
        )
    # AND every reference action item the summary finds has the right owner's name
    actions = summary["action_items"]
    reference = transcript["reference"]["action_items"]
    found = 0
    for ref, match in zip(
        reference, best_matches([a["task"] for a in reference], [a["text"] for a in actions]), strict=True
    ):
        if match is not None:
            found += 1
            assert actions[match]["owner"] == ref["owner"], f"{name}: {ref['task']!r} -> {actions[match]}"
    print(name, f"action items found {found}/{len(reference)}")
