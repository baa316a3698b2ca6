"""Two-voice meetings synthesized from the dev transcripts, through the pipeline: talk time, naming, owners.

Each of ``tests/data/transcripts/*.json`` is spoken by two espeak-ng voices (``tests/speech/synthetic.py``:
different base voices and variants, a sox vocal-tract-length change) and goes through the transcribe and
diarize stages' own ``compute`` (two-party hint), ``speaker_turns`` (conversation naming) and
``run_summary``, with the transcript's participants. Printed per meeting, against where each voice
really spoke: the diarization stage's seconds per label over each person, the summary's talk time per
speaker (issue 17's bar: within 15 % of the truth), how each speaker was named, and each reference
action item's owner in the summary (right name, an unnamed "Speaker N", wrong person, or not found).

Run: ``DIARIZE_THREADS=1 .venv/bin/python benchmarks/meetings.py`` (one ML job: whisper + diarization).
Measured 2026-12-01 on a 2-core AMD EPYC VM shared with other engineers (load 3-10); figures in
docs/DIARIZATION.md ("Synthetic two-voice meetings").
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the synthesis and the action-item matcher are the test's own
from tests.speech.synthetic import Outcome, run_meeting, tools_available  # noqa: E402

TRANSCRIPTS = ROOT / "tests" / "data" / "transcripts"
TOLERANCE = 0.15
UNNAMED = re.compile(r"Speaker \d+")


def report(outcome: Outcome) -> None:
    """Print one meeting's figures."""
    print(f"\n{outcome.name}")
    for label, over in sorted(outcome.diarized.items()):
        seconds = ", ".join(f"{person} {s:.1f} s" for person, s in over.items())
        print(f"  diarization {label}: {sum(over.values()):.1f} s of speech over {seconds}")
    for label, over in sorted(outcome.attributed.items()):
        seconds = ", ".join(f"{person} {s:.1f} s" for person, s in over.items())
        print(f"  summary utterances of {label!r}: {seconds}")
    for person, truth in outcome.truth.items():
        talk = outcome.talk.get(person)
        if talk is None:
            print(f"  {person}: truth {truth:.1f} s, no summary speaker of that name")
            continue
        error = (talk - truth) / truth
        verdict = "ok" if abs(error) <= TOLERANCE else "MISSED"
        print(f"  {person}: talk {talk:.1f} s vs truth {truth:.1f} s ({error:+.1%}, {verdict})")
    for name, (method, confidence) in outcome.naming.items():
        print(f"  speaker {name!r}: naming {method}, confidence {confidence}")
    right = unnamed = wrong = 0
    for task, owner, given in outcome.owners:
        if given is None:
            verdict = "not found"
        elif given == owner:
            verdict, right = "right", right + 1
        elif UNNAMED.fullmatch(given):
            verdict, unnamed = "unnamed", unnamed + 1
        else:
            verdict, wrong = "WRONG PERSON", wrong + 1
        print(f"  action {task[:60]!r}: owner {owner!r} -> {given!r} ({verdict})")
    found = right + unnamed + wrong
    print(
        f"  action items found {found}/{len(outcome.owners)}: right {right}, unnamed {unnamed}, wrong {wrong}"
    )


def main() -> None:
    """Synthesize and run every meeting, printing the figures and the machine."""
    if not tools_available():
        raise SystemExit("espeak-ng and sox are needed (make setup installs them)")
    os.environ.setdefault("DIARIZE_THREADS", "1")
    print(f"date {date.today().isoformat()}, machine {platform.node()} {platform.machine()}")
    print(
        f"  {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(TRANSCRIPTS.glob("*.json")):
            transcript = json.loads(path.read_text(encoding="utf-8"))
            transcript.setdefault("name", path.stem)
            started = time.perf_counter()
            outcome = run_meeting(transcript, Path(tmp) / f"{path.stem}.wav")
            report(outcome)
            print(f"  ({time.perf_counter() - started:.0f} s wall)")


if __name__ == "__main__":
    main()
