"""Two-voice meetings synthesized from the dev transcripts (espeak-ng voices, sox), with their truth.

Each utterance is spoken by its role's voice, resampled to 16 kHz mono by sox, and laid end to end
with the transcript's own gaps (at least 0.4 s). The truth is where each utterance landed.

The two voices differ as two real people do, not only in pitch: different espeak-ng base voices
(American vs British received pronunciation), different variants (male ``m3`` vs female ``f2``) and a
vocal-tract-length change (sox ``pitch`` shifts the formants with the fundamental; ±150 cents, 300
apart, about the 15-20 % by which adult female formants sit above male ones). Measured 2026-12-01
with CAM++ on whole utterances of a neutral passage (the Rainbow Passage, never these transcripts):
real speaker pairs of sample/dev00/dev01 have cosine similarity 0.58-0.72 within a speaker and
0.05-0.35 across (gap 0.33-0.56); the earlier pair (en-us pitch 40 vs en-gb+f3 pitch 65, espeak's
``-p`` moves F0 only) was 0.86 within and 0.76 across (gap 0.10; one voice with itself: 0.85/0.87),
so CAM++ heard one speaker; these voices are 0.85 within and 0.32 across (gap 0.53), in the real
range.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
# role → (espeak-ng options, sox effects)
VOICES: dict[str, tuple[list[str], list[str]]] = {
    "host": (["-v", "en-us+m3", "-s", "165"], ["pitch", "-150"]),
    "client": (["-v", "en-gb-x-rp+f2", "-s", "155"], ["pitch", "150"]),
}
MIN_GAP = 0.4  # s


@dataclass(frozen=True)
class Spoken:
    """One synthesized utterance: who, when (seconds), what."""

    role: str
    name: str
    start: float
    end: float
    text: str


def tools_available() -> bool:
    """espeak-ng and sox are on PATH (``make setup`` installs them)."""
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def _speak(text: str, role: str, work: Path, index: int) -> np.ndarray:
    raw, resampled = work / f"u{index}.raw.wav", work / f"u{index}.wav"
    options, effects = VOICES[role]
    subprocess.run(["espeak-ng", *options, "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(
        # -D: no dither, so that the same transcript always gives the same samples (sox dithers
        # with random noise whenever effects run before a 16-bit output).
        ["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(resampled), *effects],
        check=True,
    )
    with wave.open(str(resampled), "rb") as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    # espeak-ng pads with silence; trim it so that the truth is the voice, not the padding.
    loud = np.flatnonzero(np.abs(audio) > 300)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def synthesize(transcript: dict[str, Any], out: Path) -> list[Spoken]:
    """Write ``out`` (16 kHz mono WAV) and return what was said when."""
    work = out.parent / f"{out.stem}-parts"
    work.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    spoken: list[Spoken] = []
    cursor = 0.0
    previous_end = 0.0
    for index, utterance in enumerate(transcript["utterances"]):
        gap = max(MIN_GAP, float(utterance["start"]) - previous_end) if index else 0.5
        previous_end = float(utterance["end"])
        voice = _speak(utterance["text"], utterance["role"], work, index)
        pieces.append(np.zeros(int(gap * SAMPLE_RATE), dtype=np.int16))
        cursor += gap
        pieces.append(voice)
        duration = voice.shape[0] / SAMPLE_RATE
        spoken.append(
            Spoken(utterance["role"], utterance["speaker"], cursor, cursor + duration, utterance["text"])
        )
        cursor += duration
    pieces.append(np.zeros(SAMPLE_RATE // 2, dtype=np.int16))
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.concatenate(pieces).tobytes())
    shutil.rmtree(work)
    return spoken


@dataclass(frozen=True)
class Outcome:
    """What the pipeline made of one synthesized meeting, beside its truth.

    ``truth`` and ``talk`` are seconds per participant (``talk``: the summary's speakers, by the name
    they were given, a participant's or "Speaker N"); ``diarized`` is the diarization stage's seconds
    of each of its labels over each participant's real speech, ``attributed`` the same for the
    summary's utterances of each speaker; ``owners`` is, per reference action item, (task, right owner, the owner
    the summary gave its matching item, or None when the summary has no clear match).
    """

    name: str
    truth: dict[str, float]
    talk: dict[str, float]
    naming: dict[str, tuple[str, float | None]]
    diarized: dict[str, dict[str, float]]
    attributed: dict[str, dict[str, float]]
    owners: list[tuple[str, str, str | None]]


def _over(
    spans: list[dict[str, Any]], spoken: list[Spoken], truth: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Seconds of each speaker's spans (``speaker``, ``start``, ``end``) over each person's real speech."""
    over: dict[str, dict[str, float]] = {}
    for span in spans:
        row = over.setdefault(str(span["speaker"]), {name: 0.0 for name in truth})
        for s in spoken:
            row[s.name] += max(0.0, min(s.end, float(span["end"])) - max(s.start, float(span["start"])))
    return over


def run_meeting(transcript: dict[str, Any], out: Path) -> Outcome:
    """Synthesize ``transcript`` to ``out`` and take it through the pipeline's stages.

    The transcribe and diarize stages' own ``compute`` (whisper with the names as hotwords, the
    two-party hint), then ``speaker_turns`` and ``run_summary`` as the summarize stage calls them,
    with the session's participants.
    """
    from agentflow.stages import diarize as diarize_stage
    from agentflow.stages import transcribe as transcribe_stage
    from agentflow.stages.summarize import speaker_turns
    from agentflow.workflows import run_summary

    from tests.workflows.test_extractive import best_matches

    spoken = synthesize(transcript, out)
    people = transcript["participants"]
    session = {"host": {"name": people["host"]}, "client": {"name": people["client"]}}
    words = transcribe_stage.compute(out, {}, session)
    turns = diarize_stage.compute(out, {}, session)
    utterances, participants = speaker_turns(words, turns, session)
    summary = run_summary(
        utterances=utterances, participants=participants, language="en", duration=float(words["duration"])
    )
    truth: dict[str, float] = {}
    for s in spoken:
        truth[s.name] = truth.get(s.name, 0.0) + s.end - s.start
    diarized = _over(turns["turns"], spoken, truth)
    attributed = _over(utterances, spoken, truth)
    actions = summary["action_items"]
    reference = transcript["reference"]["action_items"]
    matches = best_matches([a["task"] for a in reference], [a["text"] for a in actions])
    owners = [
        (ref["task"], ref["owner"], None if match is None else actions[match]["owner"])
        for ref, match in zip(reference, matches, strict=True)
    ]
    return Outcome(
        name=str(transcript.get("name", out.stem)),
        truth=truth,
        talk={s["name"]: float(s["talk_time_seconds"]) for s in summary["speakers"]},
        naming={s["name"]: (s["naming"], s["naming_confidence"]) for s in summary["speakers"]},
        diarized=diarized,
        attributed=attributed,
        owners=owners,
    )
