"""Chunk jobs (issue 19): a span of a recording transcribed on its own, and the chunks merged back.

The seam between two chunks is tested on hand-made word lists; a real conversation (AMI speech,
``benchmarks.long_audio``) cut inside speech is transcribed chunked and unchunked with a real
model; a chunk's memory is measured on a 10- and a 60-minute file with only the model stubbed.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
import tracemalloc
import wave
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pytest
from agentflow.errors import PermanentStageError
from agentflow.speech import transcribe as transcribe_module
from agentflow.speech import whisper
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.speech.diarization import Turn
from agentflow.speech.seams import merge_transcripts
from agentflow.speech.transcribe import (
    ChunkTranscriptDict,
    Segment,
    SegmentDict,
    Span,
    Transcript,
    Word,
    WordDict,
    read_span,
)

from benchmarks.evaluation import normalize_words, word_error_rate
from benchmarks.long_audio import conversation

# --- hand-made chunks ------------------------------------------------------------------------------


def words_of(
    text: str, start: float, *, step: float = 0.3, channel: int = 0, shift: float = 0.0
) -> list[WordDict]:
    """One word every ``step`` s from ``start``, each lasting ``step - 0.05`` s, times moved by ``shift``."""
    return [
        WordDict(
            start=round(start + i * step + shift, 3),
            end=round(start + i * step + step - 0.05 + shift, 3),
            word=token,
            probability=0.9,
            channel=channel,
        )
        for i, token in enumerate(text.split())
    ]


def chunk(
    words: Sequence[WordDict],
    *,
    start: float,
    end: float,
    overlap: float = 2.0,
    duration: float = 30.0,
    segments: Sequence[SegmentDict] | None = None,
    language: str | None = "en",
    channels: int = 1,
) -> ChunkTranscriptDict:
    """A chunk artefact owning ``start``–``end``, decoded ``overlap`` s beyond, with only the words it heard there."""
    read_start, read_end = max(start - overlap, 0.0), min(end + overlap, duration)
    heard = sorted(
        (w for w in words if read_start <= w["start"] and w["end"] <= read_end),
        key=lambda w: (w["start"], w["channel"]),
    )
    if segments is None:  # one segment per channel, as if whisper decoded one sentence each
        segments = []
        for channel in sorted({w["channel"] for w in heard}):
            own = [w for w in heard if w["channel"] == channel]
            text = " ".join(w["word"] for w in own)
            segments.append(
                SegmentDict(id=0, start=own[0]["start"], end=own[-1]["end"], text=text, channel=channel)
            )
    return ChunkTranscriptDict(
        language=language,
        language_probability=0.9 if language else 0.0,
        duration=duration,
        channels=channels,
        model="tiny.en",
        segments=[SegmentDict(**{**s, "id": i}) for i, s in enumerate(segments)],  # type: ignore[typeddict-item]
        words=heard,
        span={"start": start, "end": end, "read_start": read_start, "read_end": read_end},
    )


def texts(merged: dict[str, object] | ChunkTranscriptDict, channel: int | None = None) -> list[str]:
    return [w["word"] for w in merged["words"] if channel is None or w["channel"] == channel]  # type: ignore[index,union-attr]


SPEECH = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"


def test_where_both_chunks_agree_each_word_of_unbroken_speech_is_kept_once() -> None:
    # GIVEN 15 words spoken without a pause from 6 s to 10.5 s, a cut at 8 s inside "seven"
    # (7.8-8.05 s), and two chunks that heard them 0.15 s apart: cutting at 8 s by the words'
    # middles would keep "seven" from both
    left = chunk(words_of(SPEECH, 6.0), start=0.0, end=8.0)
    right = chunk(words_of(SPEECH, 6.0, shift=0.15), start=8.0, end=30.0)

    merged = merge_transcripts([left, right])

    assert texts(merged) == SPEECH.split()
    assert [w["start"] for w in merged["words"]] == sorted(w["start"] for w in merged["words"])


def test_a_word_across_the_cut_is_kept_once_even_when_the_sides_time_it_differently() -> None:
    # GIVEN "across" spanning the cut at 10 s, placed 0.2 s apart by the two chunks (its middle on
    # the left of the cut in one, on the right in the other), pauses around it
    left = chunk(
        [*words_of("before", 8.0), *words_of("across", 9.7, step=0.5), *words_of("after", 11.0)],
        start=0,
        end=10,
    )
    right = chunk(
        [*words_of("before", 8.1), *words_of("across", 9.9, step=0.5), *words_of("after", 11.1)],
        start=10,
        end=30,
    )

    merged = merge_transcripts([left, right])

    assert texts(merged) == ["before", "across", "after"]


def test_where_the_chunks_disagree_one_sides_version_is_kept_whole() -> None:
    # GIVEN the left heard "gonna", the right "going to", inside otherwise agreeing unbroken speech
    said = "we are {} meet at noon and then go home"
    left = chunk(words_of(said.format("gonna"), 8.5), start=0, end=10)
    right = chunk(words_of(said.format("going to"), 8.5, shift=0.05), start=10, end=30)

    merged = merge_transcripts([left, right])

    # THEN one version, never both, and every agreeing word once
    assert texts(merged) in (said.format("gonna").split(), said.format("going to").split())

    # GIVEN two sides that agree on nothing, with a pause in both near the cut
    left = chunk([*words_of("alpha beta", 8.0), *words_of("gamma delta", 10.6)], start=0, end=10)
    right = chunk([*words_of("one two", 8.1), *words_of("three four", 10.5)], start=10, end=30)
    # THEN the seam is the pause: the left's words before it, the right's after it
    assert texts(merge_transcripts([left, right])) == ["alpha", "beta", "three", "four"]

    # GIVEN no agreement and no pause THEN the cut itself, each word to the side its middle is on
    left = chunk(words_of("a b c d e f g h", 8.8), start=0, end=10)
    right = chunk(words_of("p q r s t u v w", 8.8), start=10, end=30)
    assert texts(merge_transcripts([left, right])) == ["a", "b", "c", "d", "t", "u", "v", "w"]


def test_empty_chunks_neither_lose_nor_add_words() -> None:
    # GIVEN a silent middle chunk between two chunks with speech away from the cuts
    first = chunk(words_of("hello there", 2.0), start=0, end=10)
    silent = chunk([], start=10, end=20, language=None)
    last = chunk(words_of("goodbye now", 25.0), start=20, end=30)

    merged = merge_transcripts([first, silent, last])

    assert texts(merged) == ["hello", "there", "goodbye", "now"]
    assert [s["text"] for s in merged["segments"]] == ["hello there", "goodbye now"]
    assert merged["language"] == "en" and merged["duration"] == 30.0

    # GIVEN only silence THEN an empty transcript of the recording's length, language unknown
    nothing = merge_transcripts(
        [chunk([], start=0, end=15, language=None), chunk([], start=15, end=30, language=None)]
    )
    assert nothing["words"] == [] and nothing["segments"] == []
    assert nothing["language"] is None and nothing["language_probability"] == 0.0
    assert nothing["duration"] == 30.0

    # GIVEN a first chunk without speech THEN the language is the first chunk's that has one
    detected = merge_transcripts(
        [chunk([], start=0, end=10, language=None), chunk(words_of("hi", 12.0), start=10, end=30)]
    )
    assert detected["language"] == "en" and texts(detected) == ["hi"]


def test_per_channel_transcripts_get_a_seam_per_channel() -> None:
    # GIVEN channel 0 speaking across the cut at 10 s while channel 1 pauses there, and the reverse
    # at the cut at 20 s; the right chunk of each cut times every word 0.1 s later
    zero = [*words_of(SPEECH, 8.0), *words_of("later words", 25.0)]
    one = [*words_of("earlier", 3.0, channel=1), *words_of(SPEECH, 18.0, channel=1)]
    heard = [*zero, *one]
    shifted = [{**w, "start": w["start"] + 0.1, "end": w["end"] + 0.1} for w in heard]
    parts = [
        chunk(heard, start=0, end=10, channels=2),
        chunk(shifted, start=10, end=20, channels=2),  # type: ignore[arg-type]
        chunk(heard, start=20, end=30, channels=2),
    ]

    merged = merge_transcripts(parts)

    assert merged["channels"] == 2
    assert texts(merged, 0) == [*SPEECH.split(), "later", "words"]
    assert texts(merged, 1) == ["earlier", *SPEECH.split()]
    assert {w["channel"] for w in merged["words"]} == {0, 1}
    assert {s["channel"] for s in merged["segments"]} == {0, 1}


def test_segments_follow_the_seam_and_are_renumbered() -> None:
    # GIVEN a sentence across the cut at 10 s, which each side decoded as one segment
    sentence = "so we agreed that the budget is fine"
    left = chunk([*words_of("hello", 1.0), *words_of(sentence, 8.9)], start=0, end=10)
    right = chunk(words_of(sentence, 8.9, shift=0.03), start=10, end=30)
    left["segments"] = [
        SegmentDict(id=0, start=1.0, end=1.25, text="hello", channel=0),
        SegmentDict(id=1, start=8.9, end=11.0, text="So we agreed that the budget", channel=0),
    ]

    merged = merge_transcripts([left, right])

    # THEN the words of the segments, in order, are the words of the transcript, each once
    segment_words = [token for s in merged["segments"] for token in s["text"].lower().split()]
    assert segment_words == texts(merged) == ["hello", *sentence.split()]
    assert [s["id"] for s in merged["segments"]] == list(range(len(merged["segments"])))
    for segment in merged["segments"]:
        assert segment["start"] <= segment["end"]
    assert merged["segments"][0]["text"] == "hello"


def test_merging_is_pure_order_free_and_a_redelivered_chunk_counts_once() -> None:
    parts = [
        chunk(words_of(SPEECH, 8.0), start=0, end=10),
        chunk(words_of(SPEECH, 8.0, shift=0.05), start=10, end=20),
        chunk(words_of(SPEECH, 8.0), start=20, end=30),
    ]
    snapshot = json.dumps(parts)

    merged = merge_transcripts(parts)

    assert merge_transcripts([parts[2], parts[0], parts[1], parts[0]]) == merged
    assert json.dumps(parts) == snapshot, "the parts were modified"
    assert texts(merged) == SPEECH.split()
    with pytest.raises(PermanentStageError, match="contiguous"):
        merge_transcripts([parts[0], parts[2]])
    with pytest.raises(PermanentStageError, match="no chunk"):
        merge_transcripts([])


def test_the_merge_loads_neither_whisper_nor_the_audio_decoder() -> None:
    # GIVEN a fresh interpreter WHEN the fan-in imports the merge THEN no model code comes with it
    code = (
        "import sys\n"
        "from agentflow.speech.seams import merge_transcripts\n"
        "heavy = {'av', 'numpy', 'faster_whisper', 'ctranslate2'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_one_chunk_of_the_whole_recording_merges_to_its_own_transcript() -> None:
    transcript = Transcript(
        language="en",
        language_probability=0.97,
        duration=12.5,
        channels=1,
        model="base",
        segments=(Segment(0, 1.0, 2.0, "Hello there.", 0),),
        words=(Word(1.0, 1.4, "Hello", 0.9, 0), Word(1.5, 2.0, "there.", 0.8, 0)),
    )
    artefact = transcript.to_chunk_dict()

    assert artefact["span"] == {"start": 0.0, "end": 12.5, "read_start": 0.0, "read_end": 12.5}
    assert json.loads(json.dumps(artefact)) == artefact
    assert merge_transcripts([artefact]) == transcript.to_dict()


def test_a_chunk_reads_its_span_and_the_overlap_inside_the_recording() -> None:
    overlap = transcribe_module.OVERLAP
    assert read_span(0.0, None, None) == (0.0, None)  # the whole recording, as before chunks
    assert read_span(0.0, 600.0, 3000.0) == (0.0, 600.0 + overlap)
    assert read_span(600.0, 1200.0, 3000.0) == (600.0 - overlap, 1200.0 + overlap)
    assert read_span(2400.0, 3000.0, 3000.0) == (2400.0 - overlap, 3000.0)
    assert read_span(2400.0, None, None) == (2400.0 - overlap, None)
    for start, end in ((10.0, 10.0), (10.0, 5.0), (-1.0, 5.0)):
        with pytest.raises(PermanentStageError):
            read_span(start, end, 30.0)
    assert Span(1.0, 2.0, 0.5, 2.5).read_start == 0.5


# --- a real conversation, cut inside speech --------------------------------------------------------


def _cuts_inside_speech(turns: Sequence[Turn], count: int) -> list[float]:
    """``count`` cuts, each in the middle of a different reference turn of ≥ 2 s, spread over the turns."""
    long_turns = sorted((t for t in turns if t.end - t.start >= 2.0), key=lambda t: t.start)
    picked = [long_turns[(2 * i + 1) * len(long_turns) // (2 * count)] for i in range(count)]
    return sorted(round((t.start + t.end) / 2, 3) for t in picked)


def _token(word: WordDict) -> str:
    return " ".join(normalize_words(word["word"]))


def _heard(word: WordDict, others: Sequence[WordDict], *, within: float = 0.5) -> bool:
    """Whether ``others`` holds the same word at about the same time (seconds)."""
    return any(_token(o) == _token(word) and abs(o["start"] - word["start"]) <= within for o in others)


def _near(words: Sequence[WordDict], at: float, seconds: float) -> list[WordDict]:
    return [w for w in words if abs((w["start"] + w["end"]) / 2 - at) <= seconds]


def _counts(words: Sequence[WordDict], at: float, seconds: float) -> Counter[str]:
    return Counter(_token(w) for w in _near(words, at, seconds))


def _text(words: Sequence[WordDict]) -> list[str]:
    return normalize_words(" ".join(w["word"] for w in words))


def _same_audio_elsewhere(words: Sequence[WordDict], period: float, count: int) -> float:
    """Mean WER between the unchunked transcript's repeats of the same audio (``count`` periods of
    ``period`` s): how much whisper's output moves with where its 30 s windows fall, chunks aside."""
    repeats = [
        _text([w for w in words if p * period + 1 <= (w["start"] + w["end"]) / 2 < (p + 1) * period - 1])
        for p in range(count)
    ]
    pairs = list(itertools.combinations(repeats, 2))
    return sum(word_error_rate(a, b) for a, b in pairs) / len(pairs)


@pytest.mark.slow
def test_a_conversation_cut_inside_speech_merges_without_losing_or_doubling_words(tmp_path: Path) -> None:
    # GIVEN a 3-minute two-party meeting (AMI speech) and five cuts, each inside a speaker's turn
    path, turns = conversation(3, tmp_path / "conversation.wav")
    began = time.perf_counter()
    unchunked = transcribe_module.transcribe(path, language="en", model="tiny.en").to_dict()
    unchunked_seconds = time.perf_counter() - began
    duration = unchunked["duration"]
    cuts = _cuts_inside_speech(turns, 5)
    bounds = [0.0, *cuts, duration]

    # WHEN each chunk is transcribed on its own (its span and the overlap only) and the chunks merged
    began = time.perf_counter()
    parts = [
        transcribe_module.transcribe(
            path, language="en", model="tiny.en", start=a, end=b, duration=duration
        ).to_chunk_dict()
        for a, b in itertools.pairwise(bounds)
    ]
    chunked_seconds = time.perf_counter() - began
    merged = merge_transcripts(parts)

    # THEN the chunks carry absolute times inside what they read, and the merge is a transcript
    for part, (a, b) in zip(parts, itertools.pairwise(bounds), strict=True):
        assert (part["span"]["start"], part["span"]["end"]) == (a, b)
        assert all(
            part["span"]["read_start"] <= w["start"] <= w["end"] <= part["span"]["read_end"]
            for w in part["words"]
        )
    assert merged["duration"] == duration and merged["language"] == "en"
    assert [s["id"] for s in merged["segments"]] == list(range(len(merged["segments"])))
    assert [w["start"] for w in merged["words"]] == sorted(w["start"] for w in merged["words"])

    # THEN around each cut (where the seam may lie: half the overlap either side), every word of
    # the unchunked transcript that both neighbours heard is in the merge, and the merge never has
    # a word more often than either neighbour heard it (whisper may itself say "yeah yeah")
    seam_zone = transcribe_module.OVERLAP / 2
    report = []
    for k, cut in enumerate(cuts):
        left, right = parts[k]["words"], parts[k + 1]["words"]
        around = _near(unchunked["words"], cut, seam_zone)
        both = [w for w in around if _heard(w, left) and _heard(w, right)]
        lost = [w for w in both if not _heard(w, merged["words"])]
        heard_left, heard_right = _counts(left, cut, seam_zone + 0.5), _counts(right, cut, seam_zone + 0.5)
        doubled = {
            t: n
            for t, n in _counts(merged["words"], cut, seam_zone).items()
            if n > max(heard_left[t], heard_right[t])
        }
        across = [w["word"] for w in unchunked["words"] if w["start"] < cut < w["end"]]
        report.append(
            f"cut {cut:.3f} s (unchunked word across it: {across or 'none'}): {len(around)} unchunked words"
            f" within {seam_zone} s, {sum(_heard(w, merged['words']) for w in around)} in the merge,"
            f" {len(both)} heard by both chunks, lost {len(lost)}, doubled {sum(doubled.values())}"
        )
        assert not lost, (cut, lost)
        assert not doubled, (cut, doubled)

    # THEN the merge costs at most 2 points of WER against the unchunked transcript beyond what
    # decoding the chunks apart costs away from the seams: whisper's words depend on where its 30 s
    # windows fall (the unchunked transcript differs from itself as much on the same audio elsewhere)
    def outside_seams(words: Sequence[WordDict]) -> list[WordDict]:
        return [w for w in words if all(abs((w["start"] + w["end"]) / 2 - cut) > seam_zone for cut in cuts)]

    wer = word_error_rate(_text(unchunked["words"]), _text(merged["words"]))
    apart = word_error_rate(_text(outside_seams(unchunked["words"])), _text(outside_seams(merged["words"])))
    floor = _same_audio_elsewhere(unchunked["words"], period=60.0, count=int(duration // 60))
    print(  # the measured figures, for docs/TRANSCRIPTION.md
        f"\n{duration:.0f} s, cuts {cuts}, OVERLAP {transcribe_module.OVERLAP} s, tiny.en:"
        f" unchunked {unchunked_seconds:.1f} s, {len(parts)} chunks {chunked_seconds:.1f} s;"
        f" WER merged vs unchunked {wer:.3f} (away from the seams {apart:.3f});"
        f" unchunked vs itself on the same audio elsewhere {floor:.3f};"
        f" {len(merged['words'])} words merged, {len(unchunked['words'])} unchunked\n" + "\n".join(report)
    )
    assert wer <= apart + 0.02


@pytest.mark.slow
def test_per_channel_chunks_read_from_one_file_object_merge_to_the_unchunked_words(data_dir: Path) -> None:
    # GIVEN a per-channel recording (one speaker per channel) cut inside a word of the left channel
    path = data_dir / "stereo_diarization.wav"
    unchunked = transcribe_module.transcribe(path, split_channels=True, language="en", model="tiny.en")
    word = next(w for w in unchunked.words if w.channel == 0 and w.start > 2.5)
    cut = round((word.start + word.end) / 2, 3)

    # WHEN both chunks are transcribed from one open file object, then merged
    with path.open("rb") as handle:
        parts = [
            transcribe_module.transcribe(
                handle,
                split_channels=True,
                language="en",
                model="tiny.en",
                start=a,
                end=b,
                duration=unchunked.duration,
            ).to_chunk_dict()
            for a, b in ((0.0, cut), (cut, unchunked.duration))
        ]
    merged = merge_transcripts(parts)

    # THEN each channel's words are the unchunked ones, once each, on their channel
    assert merged["channels"] == 2
    assert [(w["word"], w["channel"]) for w in merged["words"]] == [
        (w.word, w.channel) for w in unchunked.words
    ]


# --- memory of a chunk job: only the model call stubbed -----------------------------------------


class _StubWhisper:
    """Stands in for ``WhisperModel`` and for the batched pipeline over it (``whisper.batched``):
    records how much speech each call was given and the clips it was to decode, says nothing."""

    supported_languages = ("en",)
    model = SimpleNamespace(is_multilingual=False)

    def __init__(self) -> None:
        self.samples: list[int] = []
        self.clips: list[list[dict[str, float]]] = []  # per batched call, seconds of the speech given

    def transcribe(
        self, audio: npt.NDArray[np.float32], **options: object
    ) -> tuple[Iterator[object], object]:
        self.samples.append(int(audio.shape[0]))
        if "batch_size" in options:
            self.clips.append(options["clip_timestamps"])  # type: ignore[arg-type]
        return iter(()), SimpleNamespace(language="en", language_probability=1.0)


def _stub_whisper(monkeypatch: pytest.MonkeyPatch) -> _StubWhisper:
    stub = _StubWhisper()
    monkeypatch.setattr(whisper, "get_model", lambda name=None: stub)
    monkeypatch.setattr(whisper, "batched", lambda model: model)
    return stub


def _repeated_conversation(data_dir: Path, out: Path, minutes: int) -> Path:
    """A 16 kHz mono WAV of ``minutes``: dev00 and dev01 (AMI) again and again, written a part at a time."""
    parts = [
        (decode(data_dir / f"{name}.wav")[0] * 32767).astype("<i2").tobytes() for name in ("dev00", "dev01")
    ]
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        for index in range(minutes * 2):  # each part is 30 s
            handle.writeframes(parts[index % 2])
    return out


def _peak_of_last_minute(source: Path | BinaryIO, duration: float) -> tuple[int, int]:
    """(Python heap peak, resident-set peak growth) in bytes while transcribing the last 60 s."""
    clear_refs = Path("/proc/self/clear_refs")
    clear_refs.write_text("5", encoding="ascii")  # VmHWM := VmRSS, so the peak is this call's
    rss_before = _status_kb("VmRSS")
    tracemalloc.start()
    try:
        transcript = transcribe_module.transcribe(
            source, start=duration - 60.0, end=duration, duration=duration
        )
        heap = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert transcript.span == Span(
        duration - 60.0, duration, duration - 60.0 - transcribe_module.OVERLAP, duration
    )
    return heap, (_status_kb("VmHWM") - rss_before) * 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


@pytest.mark.slow
def test_a_chunks_memory_is_set_by_its_span_not_by_the_recordings_length(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a 10-minute and a 60-minute recording of speech, and whisper stubbed (VAD and decoding real)
    stub = _stub_whisper(monkeypatch)
    short, long = (
        _repeated_conversation(data_dir, tmp_path / "10.wav", 10),
        _repeated_conversation(data_dir, tmp_path / "60.wav", 60),
    )
    _peak_of_last_minute(short, 600.0)  # warm-up: the VAD session and the allocator's arenas

    # WHEN the chunk of the last minute of each is transcribed (by path, and by file object)
    heap_10, rss_10 = _peak_of_last_minute(short, 600.0)
    heap_60, rss_60 = _peak_of_last_minute(long, 3600.0)
    with long.open("rb") as handle:
        heap_60_file, rss_60_file = _peak_of_last_minute(handle, 3600.0)

    mib = 1024 * 1024
    span_bytes = (60.0 + transcribe_module.OVERLAP) * SAMPLE_RATE * 4  # the span as float32
    print(  # the measured figures, for docs/TRANSCRIPTION.md
        f"\nchunk of the last 60 s: heap peak {heap_10 / mib:.1f} MiB (10 min), {heap_60 / mib:.1f} MiB (60 min),"
        f" {heap_60_file / mib:.1f} MiB (60 min, file object); RSS growth {rss_10 / mib:.1f} / {rss_60 / mib:.1f} /"
        f" {rss_60_file / mib:.1f} MiB; the span as float32 is {span_bytes / mib:.1f} MiB,"
        f" the 60-minute recording {3600 * SAMPLE_RATE * 4 / mib:.0f} MiB"
    )
    # THEN whisper heard at most the span, and memory is flat: the Python heap (numpy included)
    # within 10 %, the resident set (allocator arenas, FFmpeg, onnxruntime: noisier) within half of
    # what holding the 50 more minutes would cost as float32
    assert max(stub.samples) <= span_bytes / 4
    assert len(stub.clips) == len(stub.samples)  # every window through the batched pipeline
    for heap in (heap_60, heap_60_file):
        assert heap <= heap_10 * 1.1 + 1 * mib
    for rss in (rss_60, rss_60_file):
        assert rss <= rss_10 + (3600 - 600) * SAMPLE_RATE * 4 / 2
    assert heap_10 <= 8 * span_bytes  # a few copies of the span (blocks, window, VAD, speech), not more


def test_a_chunk_does_not_decode_speech_beyond_where_a_seam_can_fall(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dev00 (30 s of unbroken meeting speech: one VAD region) and a chunk 10.15-20.35 s whose
    # read edges (5.15 s, 25.35 s) fall inside words; decoding up to the edge made whisper loop
    # through all six temperatures on the truncated last segment (7 failed decodes, 21-32 s)
    stub = _stub_whisper(monkeypatch)
    path, duration = data_dir / "dev00.wav", 30.0000625
    start, end = 10.15, 20.35

    transcript = transcribe_module.transcribe(path, start=start, end=end, duration=duration)

    # THEN whisper hears at most the seam zones' reach (OVERLAP / 2 each side) and a pause's slack
    # past them, not the whole read span, and the span still records what was read
    reach = (end - start + transcribe_module.OVERLAP + 2.0) * SAMPLE_RATE
    assert len(stub.samples) == 1 and stub.samples[0] <= reach, stub.samples
    # in clips of at most 30 s that tile the speech given, decoded in one batched call
    (clips,) = stub.clips
    assert clips[0]["start"] == 0.0 and clips[-1]["end"] * SAMPLE_RATE == pytest.approx(
        stub.samples[0], abs=1
    )
    assert all(c["end"] - c["start"] <= transcribe_module.CLIP_SECONDS for c in clips)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(clips))
    assert transcript.span == Span(
        start, end, start - transcribe_module.OVERLAP, end + transcribe_module.OVERLAP
    )

    # THEN without a chunk (the whole recording) every second of speech is heard, as before
    transcribe_module.transcribe(path, duration=duration)
    assert stub.samples[1] >= 28.0 * SAMPLE_RATE, stub.samples
