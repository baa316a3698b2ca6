"""Word error rate and CPU cost of the transcription stage on every recording with a word reference.

The files: sample.wav against sample.stm (two speakers on a telephone line, words in time order),
jfk.flac (data/README.md), both channels of stereo_diarization.wav, and the three two-voice meetings
synthesized from ``tests/data/transcripts`` (``tests/speech/synthetic.py``: espeak-ng + sox, truth
words, the participants' names as hotwords as the stage gives them). Each is transcribed by
``transcribe()`` as the stage calls it, scored with ``evaluation.normalize_words`` on both sides,
and timed in CPU seconds (all threads; the machine is shared, so wall time is noisy) per second of
audio. faster-whisper's temperature fallbacks (re-decodes of a window) are counted from its log.

The stage decodes each window's clips ``stage.BATCH_SIZE`` at a time (BatchedInferencePipeline,
clips whisper would not accept decoded again one at a time: counted as "again"). ``--batch-sizes 0 8``
runs every file through the stage with each batch size in turn (0: the sequential path), so the
two are compared file by file under the same load. ``--batched 8`` runs faster-whisper's
BatchedInferencePipeline on the whole file instead (its own VAD, 160 ms pauses), for comparison. ``--set decode.beam_size=1`` / ``--set vad.min_silence_duration_ms=500`` override one entry of
``DECODE_OPTIONS`` / ``VAD_OPTIONS`` for the run (values are Python literals), to compare settings
on the same files; ``--align sample`` prints the reference against the hypothesis word by word.

Usage: .venv/bin/python benchmarks/transcribe_wer.py [--model base] [--set KEY=VALUE ...]
    [--align NAME ...] [--only NAME ...] [--batch-sizes N ...] [--batched N]
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.speech.synthetic

from agentflow.speech import transcribe as stage  # noqa: E402
from agentflow.speech import whisper  # noqa: E402
from agentflow.speech.audio import decode  # noqa: E402
from evaluation import normalize_words  # noqa: E402

from tests.speech import synthetic  # noqa: E402

DATA = ROOT / "tests" / "data"
JFK = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
STEREO = (
    "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
    "The horizon seems extremely distant.",
)


@dataclass
class Case:
    name: str
    path: Path
    reference: list[list[str]]  # per channel
    hotwords: str | None = None
    split_channels: bool = False
    names: list[str] | None = None  # the participants' names, normalized words, for the names column


@dataclass
class Score:
    name: str
    errors: int
    words: int
    cpu: float
    audio: float
    fallbacks: int
    passes: int  # whisper encoder passes (one per 30 s window decoded): the cost that does not depend on load
    again: int  # batched clips decoded again on the sequential path
    pairs: list[tuple[str, str]]
    names: tuple[int, int] = (0, 0)  # the participants' name words heard as spelled, of those said

    @property
    def wer(self) -> float:
        return self.errors / max(self.words, 1)


class _Fallbacks(logging.Handler):
    """Counts faster-whisper's 'threshold is not met with temperature …' debug lines, and the
    stage's 'decoded again one at a time' ones."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.again = 0
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "threshold is not met" in message:
            self.count += 1
        if "decoded again one at a time" in message:
            self.again += 1
            self.reasons.append(message)


def align(reference: list[str], hypothesis: list[str]) -> list[tuple[str, str]]:
    """Levenshtein alignment: pairs (ref, hyp), ``""`` for an insertion's ref or a deletion's hyp."""
    n, m = len(reference), len(hypothesis)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
                cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]),
            )
    pairs: list[tuple[str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            pairs.append((reference[i - 1], hypothesis[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((reference[i - 1], ""))
            i -= 1
        else:
            pairs.append(("", hypothesis[j - 1]))
            j -= 1
    return pairs[::-1]


def cases(work: Path) -> list[Case]:
    """Every recording with a word reference; the synthetic meetings are synthesized into ``work``."""
    stm = [line.split() for line in (DATA / "sample.stm").read_text(encoding="utf-8").splitlines()]
    stm.sort(key=lambda fields: float(fields[3]))
    found = [
        Case("sample", DATA / "sample.wav", [normalize_words(" ".join(" ".join(f[5:]) for f in stm))]),
        Case("jfk", DATA / "jfk.flac", [normalize_words(JFK)]),
        Case(
            "stereo",
            DATA / "stereo_diarization.wav",
            [normalize_words(text) for text in STEREO],
            split_channels=True,
        ),
    ]
    if synthetic.tools_available():
        import json

        for source in sorted((DATA / "transcripts").glob("*.json")):
            transcript = json.loads(source.read_text(encoding="utf-8"))
            out = work / f"{source.stem}.wav"
            if not out.exists():
                synthetic.synthesize(transcript, out)
            people = transcript["participants"]
            truth = " ".join(u["text"] for u in transcript["utterances"])
            found.append(
                Case(
                    f"synth:{source.stem}",
                    out,
                    [normalize_words(truth)],
                    hotwords=stage.hotwords_of([people["host"], people["client"]]),
                    names=normalize_words(f"{people['host']} {people['client']}"),
                )
            )
    return found


_PASSES = [0]


def _count_passes() -> None:
    from faster_whisper import WhisperModel

    encode = WhisperModel.encode

    def counted(self: WhisperModel, features: Any) -> Any:
        _PASSES[0] += 1 if features.ndim == 2 else features.shape[0]  # a batch: one pass per clip
        return encode(self, features)

    WhisperModel.encode = counted  # type: ignore[method-assign]


def _batched(case: Case, model: str | None, batch_size: int) -> list[str]:
    """faster-whisper's BatchedInferencePipeline on the whole file, per channel: each channel's text."""
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(whisper.get_model(model))
    texts = []
    for channel in decode(case.path, mono=not case.split_channels):
        segments, _ = pipeline.transcribe(
            channel, language="en", batch_size=batch_size, hotwords=case.hotwords, **stage.DECODE_OPTIONS
        )
        texts.append(" ".join(w.word for s in segments for w in s.words or ()))
    return texts


def run(case: Case, model: str | None, counter: _Fallbacks, batched: int = 0) -> Score:
    from evaluation import _word_errors

    audio = decode(case.path, mono=not case.split_channels).shape[1] / 16000
    counter.count = counter.again = 0
    counter.reasons = []
    _PASSES[0] = 0
    began = time.process_time()
    if batched:
        texts = _batched(case, model, batched)
    else:
        transcript = stage.transcribe(
            case.path, language="en", split_channels=case.split_channels, model=model, hotwords=case.hotwords
        )
        texts = [
            " ".join(w.word for w in transcript.words if w.channel == channel)
            for channel in range(len(case.reference))
        ]
    cpu = time.process_time() - began
    errors = words = 0
    pairs: list[tuple[str, str]] = []
    for reference, text in zip(case.reference, texts, strict=True):
        hypothesis = normalize_words(text)
        errors += _word_errors(reference, hypothesis)
        words += len(reference)
        pairs += align(reference, hypothesis)
    for reason in counter.reasons:
        print(f"    {case.name}: {reason}")
    names = (0, 0)
    if case.names:
        said = Counter(w for reference in case.reference for w in reference if w in case.names)
        heard = Counter(w for text in texts for w in normalize_words(text) if w in case.names)
        names = (sum(min(n, heard[w]) for w, n in said.items()), sum(said.values()))
    return Score(case.name, errors, words, cpu, audio, counter.count, _PASSES[0], counter.again, pairs, names)


def _override(assignments: list[str]) -> None:
    decode_options, vad_options = dict(stage.DECODE_OPTIONS), dict(stage.VAD_OPTIONS)
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        table, _, name = key.partition(".")
        if table == "stage":  # a module setting, e.g. stage.CLIP_SECONDS=None
            setattr(stage, name, ast.literal_eval(value))
            continue
        target = {"decode": decode_options, "vad": vad_options}[table]
        target[name] = ast.literal_eval(value)
    stage.DECODE_OPTIONS = MappingProxyType(decode_options)  # type: ignore[misc]
    stage.VAD_OPTIONS = MappingProxyType(vad_options)  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="{decode,vad,stage}.KEY=VALUE")
    parser.add_argument("--align", action="append", default=[], metavar="NAME")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument(
        "--batched", type=int, default=0, metavar="N", help="BatchedInferencePipeline, batch size N"
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="the stage with each BATCH_SIZE in turn, file by file (0: sequential)",
    )
    parser.add_argument(
        "--no-hotwords", action="store_true", help="the meetings without their names as hotwords"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "agentflow-wer")
    args = parser.parse_args()
    _override(args.set)
    counter = _Fallbacks()
    for name in ("faster_whisper", "agentflow.speech.transcribe", "agentflow.speech.decoding"):
        logging.getLogger(name).addHandler(counter)
        logging.getLogger(name).setLevel(logging.DEBUG)
    args.work.mkdir(parents=True, exist_ok=True)
    _count_passes()
    whisper.get_model(args.model)  # loaded before timing
    print(f"model {whisper.resolve(args.model).label}; overrides {args.set or 'none'}")
    print(
        f"{'file':28} {'WER':>7} {'err/words':>10} {'CPU s':>7} {'audio s':>7} {'CPU/s':>6} {'fallb':>5}"
        f" {'passes':>6} {'again':>5} {'names':>7}"
    )
    sizes: list[int | None] = [None] if args.batch_sizes is None else list(args.batch_sizes)
    scores: dict[int | None, list[Score]] = {size: [] for size in sizes}
    for case in cases(args.work):
        if args.no_hotwords:
            case = replace(case, hotwords=None)
        if args.only and not any(case.name.startswith(o) for o in args.only):
            continue
        for size in sizes:
            if size is not None:
                stage.BATCH_SIZE = size or None
            score = run(case, args.model, counter, args.batched)
            scores[size].append(score)
            label = score.name if size is None else f"{score.name} [bs {size}]"
            print(
                f"{label:28} {score.wer:7.1%} {score.errors:>4}/{score.words:<5} {score.cpu:7.1f}"
                f" {score.audio:7.1f} {score.cpu / score.audio:6.3f} {score.fallbacks:5d} {score.passes:6d}"
                f" {score.again:5d} {f'{score.names[0]}/{score.names[1]}' if score.names[1] else '':>7}",
                flush=True,
            )
            if any(score.name.startswith(a) for a in args.align):
                for ref, hyp in score.pairs:
                    mark = "  " if ref == hyp else ("S " if ref and hyp else ("D " if ref else "I "))
                    print(f"    {mark}{ref:>16} {hyp}")
    for size, done in scores.items():
        label = "" if size is None else f" [bs {size}]"
        synth = [s for s in done if s.name.startswith("synth:")]
        if synth:
            pooled = sum(s.errors for s in synth) / sum(s.words for s in synth)
            heard, said = sum(s.names[0] for s in synth), sum(s.names[1] for s in synth)
            print(f"{'synthetic, pooled' + label:28} {pooled:7.1%}  (names heard as spelled {heard}/{said})")
        cpu, audio = sum(s.cpu for s in done), sum(s.audio for s in done)
        passes, again = sum(s.passes for s in done), sum(s.again for s in done)
        print(
            f"{'all, CPU s per audio s' + label:28} {cpu / audio:7.3f}  ({cpu:.1f} CPU s for {audio:.0f} s,"
            f" {passes} passes, {again} clips decoded again)"
        )


if __name__ == "__main__":
    main()
