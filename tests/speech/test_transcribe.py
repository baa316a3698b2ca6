"""Transcription stage: real whisper models on the reference recordings in tests/data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from agentflow.errors import PermanentStageError
from agentflow.settings import get_settings
from agentflow.speech import decoding, whisper, windows
from agentflow.speech import transcribe as transcribe_module
from agentflow.speech.audio import SAMPLE_RATE, AudioDecodeError, decode
from agentflow.speech.guard import clip_check, hallucinated
from agentflow.speech.transcribe import Transcript, transcribe
from agentflow.speech.weights import WeightsError, sha256_file
from faster_whisper.transcribe import get_compression_ratio

from benchmarks.evaluation import normalize_words

JFK = (
    "And so my fellow Americans, ask not what your country can do for you,"
    " ask what you can do for your country."
)
LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."


def write_wav(path: Path, audio: npt.NDArray[np.float32]) -> Path:
    """Write (channels, samples) float audio as 16 kHz 16-bit PCM."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(pcm.shape[0])
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.T.tobytes())
    return path


def assert_well_timed(transcript: Transcript) -> None:
    """Words in time order per channel, each inside the audio, start ≤ end; segments likewise."""
    assert transcript.words, "expected words"
    last: dict[int, float] = {}
    for word in transcript.words:
        assert 0.0 <= word.start <= word.end <= transcript.duration, word
        assert word.start >= last.get(word.channel, 0.0), word
        assert 0.0 <= word.probability <= 1.0
        last[word.channel] = word.start
    for segment in transcript.segments:
        assert 0.0 <= segment.start <= segment.end <= transcript.duration, segment
    assert [s.id for s in transcript.segments] == list(range(len(transcript.segments)))


def channel_text(transcript: Transcript, channel: int) -> list[str]:
    return normalize_words(" ".join(w.word for w in transcript.words if w.channel == channel))


@pytest.fixture
def clean_settings() -> Iterator[None]:
    """Settings re-read from the environment this test sets, and again after it."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# --- no model needed -------------------------------------------------------------------------------


def test_normalize_words_is_whispers_english_normalizer() -> None:
    assert normalize_words("Ask not, my fellow-Americans! 2 times, 1,000 ways.") == [
        *("ask", "not", "my", "fellow", "americans", "2", "times", "1000", "ways"),
    ]
    # contractions, fillers and spelled numbers: the same words whichever way they are written
    assert normalize_words("Uh, there isn't that much, um, difference") == normalize_words(
        "there is not that much difference"
    )
    assert normalize_words("It's forty-two") == normalize_words("it is 42") == ["it", "is", "42"]
    assert normalize_words("five hundred dollars") == normalize_words("$500") == ["$500"]


def test_importing_the_stage_loads_no_model() -> None:
    code = (
        "import agentflow.speech.transcribe, faster_whisper.vad as vad\n"
        "from agentflow.speech import whisper\n"
        "assert whisper._load.cache_info().currsize == 0\n"
        "assert vad.get_vad_model.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_choose_cut_ends_windows_in_pauses() -> None:
    choose = windows.choose_cut  # the window-cutting rule, on VAD chunk lists (samples)
    n = 1000 * SAMPLE_RATE
    finished, running = {"start": 100, "end": 5000}, {"start": 9000, "end": n}
    # GIVEN speech still running at the window's end WHEN cutting THEN cut after the last finished chunk
    assert choose(n, [finished, running]) == (5000, [finished])
    # GIVEN silence at the end THEN keep a short tail for speech that may be starting
    assert choose(n, [finished]) == (n - 3 * SAMPLE_RATE, [finished])
    assert choose(n, []) == (n - 3 * SAMPLE_RATE, [])
    # GIVEN speech from the first sample to the end THEN no cut (the caller splits it finer)
    assert choose(n, [{"start": 0, "end": n}]) == (None, [])
    # GIVEN silence then unfinished speech THEN drop the silence, carry the speech
    assert choose(n, [running]) == (9000, [])


def test_speech_is_packed_into_clips_of_at_most_30_s_that_begin_and_end_between_pieces() -> None:
    # GIVEN speech pieces (samples) of 12, 10, 9, 25 and 4 s
    seconds = [12, 10, 9, 25, 4]
    pieces, at = [], 0
    for length in seconds:
        pieces.append({"start": at, "end": at + length * SAMPLE_RATE})
        at += (length + 1) * SAMPLE_RATE

    # WHEN they are packed into clips (seconds of the concatenated pieces)
    clips = windows.pack_clips(pieces, 30.0)

    # THEN consecutive pieces share a clip while it stays within 30 s, and no piece is split
    assert clips == [0.0, 22.0, 22.0, 31.0, 31.0, 60.0]
    assert windows.pack_clips(pieces[:1], 30.0) == [0.0, 12.0]


def test_a_window_holding_the_end_of_its_clip_keeps_its_open_last_segment() -> None:
    # GIVEN whisper's tokens (timestamps from 100, 0.02 s each) for a window ending in open text
    model = SimpleNamespace(feature_extractor=SimpleNamespace(nb_max_frames=3000), time_precision=0.02)
    tokenizer = SimpleNamespace(timestamp_begin=100)
    tokens = [100, 7, 8, 150, 150, 9, 10]  # <0.00> a b <1.00><1.00> c d

    # WHEN the window is the clip's last (shorter than 30 s), THEN it is closed at the window's end
    assert whisper.close_clip_tail(model, tokenizer, tokens, 1200, 12.0) == [*tokens, 700]
    # a full 30 s window may have more audio after it: left open, to be decoded again from 1.00 s
    assert whisper.close_clip_tail(model, tokenizer, tokens, 3000, 30.0) == tokens
    # closed already, or without any timestamp: unchanged
    assert whisper.close_clip_tail(model, tokenizer, [*tokens, 300], 1200, 12.0) == [*tokens, 300]
    assert whisper.close_clip_tail(model, tokenizer, [7, 8], 1200, 12.0) == [7, 8]


def _decoded(text: str, *, logprob: float = -0.3, no_speech: float = 0.05) -> Any:
    """One batched clip's segment as faster-whisper 1.2.1 yields it."""
    from faster_whisper.transcribe import Segment as WhisperSegment

    return WhisperSegment(
        id=1, seek=0, start=0.0, end=10.0, text=text, tokens=[], avg_logprob=logprob,
        compression_ratio=0.0, no_speech_prob=no_speech, words=None, temperature=0.0,
    )  # fmt: skip


def test_a_batched_clip_is_kept_only_when_whisper_would_accept_it_and_it_does_not_loop() -> None:
    def check(segments: list[Any]) -> str | None:
        return clip_check(segments, transcribe_module.DECODE_OPTIONS)

    # GIVEN a clip decoded plainly THEN it is kept
    assert check([_decoded(" " + JFK)]) is None
    assert check([_decoded(" Yeah, yeah, yeah. Thank you, thank you.")]) is None  # speech repeats a little
    # GIVEN whisper's own fallback conditions (thresholds of DECODE_OPTIONS) THEN it is refused
    assert "compression" in str(check([_decoded(" I'll be right back." * 12)]))
    assert "log-probability" in str(check([_decoded(" " + JFK, logprob=-1.3)]))
    assert "silence" in str(check([_decoded(" you", logprob=-1.7, no_speech=0.8)]))
    # GIVEN a loop too short for gzip to notice (base on reversed speech: cr 2.29) THEN refused too
    looped = " And he's there. He's there. He's there. He's there. He's there."
    assert get_compression_ratio(looped) < 2.4
    assert check([_decoded(looped)]) == "a phrase repeated back to back"
    # the figures are the clip's: a loop split over its segments is still one loop
    assert check([_decoded(" He's there. He's there."), _decoded(" He's there. He's there.")]) is not None
    assert check([]) is None


def test_a_batched_clip_that_stops_early_is_refused() -> None:
    # GIVEN a 28 s clip of speech whose batched decoding ends with a word at 10.5 s (AMI with the
    # names as hotwords: the decoder's end-of-text came 17 s early, and the rest had no word)
    words = [_word(2.0 + 0.4 * i, 2.3 + 0.4 * i, 0.9) for i in range(22)]
    early = replace(_decoded(" " + JFK), words=words)

    def check(end: float) -> str | None:
        return clip_check([early], transcribe_module.DECODE_OPTIONS, end=end)

    # THEN it is refused (decoded again on the sequential path, which seeks on after an early end)
    assert "stopped early" in str(check(28.0))
    # AND a clip whose speech ends within 2 s of its last word (the VAD's padding, a breath) is kept
    assert check(words[-1].end + 1.5) is None
    # AND without the clip's end, or without words, there is nothing to compare
    assert clip_check([early], transcribe_module.DECODE_OPTIONS) is None
    assert clip_check([_decoded(" " + JFK)], transcribe_module.DECODE_OPTIONS, end=28.0) is None


def _word(start: float, end: float, probability: float, word: str = " word") -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end, probability=probability, word=word)


def test_a_segment_of_unlikely_squeezed_or_stretched_words_is_a_hallucination() -> None:
    # GIVEN words of speech: likely, each a few hundred milliseconds long THEN kept
    speech = [_word(0.3 * i, 0.3 * i + 0.25, 0.9) for i in range(12)]
    assert not hallucinated(speech)
    # even with a few short or unlikely words among them (a 30 s clip of real speech has some)
    assert not hallucinated([*speech, _word(4.0, 4.02, 0.1), _word(4.02, 4.04, 0.5), _word(5, 5.05, 0.12)])
    # GIVEN what whisper wrote over a beep: one word stretched over 2.3 s, then words at no time
    beep = [_word(2.16, 4.48, 0.12), *(_word(4.48, 4.48, p) for p in (0.01, 0.12, 0.28, 0.03, 0.05, 0.1))]
    assert hallucinated(beep)
    # one word the model gave 3 % over 2.3 s ("You" over the same beep, batched)
    assert hallucinated([_word(2.16, 4.48, 0.03, " You")])
    # punctuation is not judged, nor is a segment without words
    assert not hallucinated([_word(1.0, 1.0, 0.0, "."), _word(1.0, 1.3, 0.8)])
    assert not hallucinated([])


def test_size_names_and_directories_resolve_to_verified_models(tmp_path: Path) -> None:
    assert whisper.resolve("tiny.en").label == "tiny.en"
    # GIVEN a directory named like a recorded model THEN its files are checked against those digests
    baked = tmp_path / "whisper-tiny.en"
    shutil.copytree(whisper.resolve("tiny.en").directory, baked)
    assert whisper.ensure_model(str(baked)) == whisper.ModelRef("tiny.en", baked.resolve())
    # GIVEN a tampered file THEN loading is refused
    tampered = tmp_path / "other" / "whisper-tiny.en"
    shutil.copytree(baked, tampered)
    (tampered / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(WeightsError, match="SHA-256"):
        whisper.ensure_model(str(tampered))
    # GIVEN a directory whose digests nobody recorded THEN it is refused too
    with pytest.raises(WeightsError, match="no SHA-256"):
        whisper.ensure_model(str(shutil.copytree(baked, tmp_path / "mystery")))
    with pytest.raises(WeightsError, match="neither"):
        whisper.resolve(str(tmp_path / "missing"))


def test_base_is_assembled_once_from_its_two_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_settings: None
) -> None:
    monkeypatch.setenv("SPEECH_CACHE_DIR", str(tmp_path))
    get_settings.cache_clear()
    ref = whisper.ensure_model("base")
    assert ref.directory == tmp_path / "whisper-base"
    model_bin = ref.directory / "model.bin"
    assert sha256_file(model_bin) == json.loads(_manifest())["whisper-base/model.bin"]
    first = model_bin.stat().st_mtime_ns
    whisper.prepare_models()
    assert model_bin.stat().st_mtime_ns == first, "prepare_models rebuilt an intact model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whisper-base"], "staging left behind"
    assert oct(ref.directory.stat().st_mode & 0o777) == "0o755"


def _manifest() -> str:
    return (Path(whisper.__file__).resolve().parents[1] / "weights.json").read_text(encoding="utf-8")


def test_undecodable_file_is_an_audio_error(tmp_path: Path) -> None:
    bogus = tmp_path / "recording.wav"
    bogus.write_text("not audio at all", encoding="utf-8")
    with pytest.raises(AudioDecodeError):
        transcribe(bogus)


# --- real models on real audio --------------------------------------------------------------------


@pytest.mark.slow
def test_jfk_is_transcribed_word_exact(data_dir: Path) -> None:
    transcript = transcribe(data_dir / "jfk.flac")

    assert normalize_words(transcript.text) == normalize_words(JFK)
    assert channel_text(transcript, 0) == normalize_words(JFK)
    assert transcript.language == "en" and transcript.language_probability > 0.5
    assert transcript.model == "base" and transcript.channels == 1
    assert transcript.duration == pytest.approx(11.0, abs=0.05)
    assert_well_timed(transcript)
    # "country" ends the speech: its last word sits near the end, not at 0 or past the audio
    assert transcript.words[-1].end > 8.0


@pytest.mark.slow
def test_each_channel_of_a_per_channel_recording_is_transcribed_word_exact(data_dir: Path) -> None:
    transcript = transcribe(data_dir / "stereo_diarization.wav", split_channels=True)

    assert transcript.channels == 2
    assert channel_text(transcript, 0) == normalize_words(LEFT)
    assert channel_text(transcript, 1) == normalize_words(RIGHT)
    assert {s.channel for s in transcript.segments} == {0, 1}
    assert_well_timed(transcript)
    data = transcript.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        *("language", "language_probability", "duration", "channels", "model", "segments", "words")
    }
    assert set(data["segments"][0]) == {"id", "start", "end", "text", "channel"}
    assert set(data["words"][0]) == {"start", "end", "word", "probability", "channel"}


@pytest.mark.slow
def test_silence_gives_an_empty_transcript(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # 20 s: digital silence, then room noise at about -60 dBFS
    audio = np.concatenate([np.zeros(10 * SAMPLE_RATE), rng.normal(0, 1e-3, 10 * SAMPLE_RATE)])
    path = write_wav(tmp_path / "silence.wav", audio[None, :].astype(np.float32))

    transcript = transcribe(path)
    hinted = transcribe(path, language="en-US")

    assert transcript.words == () and transcript.segments == ()
    assert transcript.language is None and transcript.language_probability == 0.0
    assert transcript.duration == pytest.approx(20.0, abs=0.01)
    assert hinted.words == () and hinted.language == "en" and hinted.language_probability == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [None, transcribe_module.BATCH_SIZE])
def test_a_beep_gives_no_words(
    data_dir: Path, batch_size: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Chromium's fake microphone (the widget tests' beep, channel 0 of an upload): sound the
    # VAD takes for speech from 2.2 s, over which base writes a sentence at the stage's settings
    monkeypatch.setattr(transcribe_module, "BATCH_SIZE", batch_size)
    names = transcribe_module.hotwords_of(["Ada Lovelace", "Grace Hopper"])
    # WHEN it is transcribed as the stage does THEN whisper's anomaly test drops what it wrote
    assert transcribe(data_dir / "beep.flac", hotwords=names).words == ()
    # AND without that test, the words would be there (so the test above can fail)
    monkeypatch.setattr(decoding, "hallucinated", lambda words: False)
    assert transcribe(data_dir / "beep.flac", hotwords=names).words != ()


@pytest.mark.slow
def test_language_hint_skips_detection_and_unknown_codes_are_refused(data_dir: Path) -> None:
    transcript = transcribe(data_dir / "jfk.flac", language="EN", model="tiny.en")

    assert transcript.language == "en" and transcript.language_probability == 1.0
    assert transcript.model == "tiny.en"
    assert normalize_words(transcript.text) == normalize_words(JFK)
    with pytest.raises(PermanentStageError):
        transcribe(data_dir / "jfk.flac", language="xx")


@pytest.mark.slow
def test_long_audio_in_windows_loses_and_repeats_nothing(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN three copies of jfk.flac 3 s apart and windows (15 s) shorter than the recording
    jfk = decode(data_dir / "jfk.flac")
    gap = np.zeros((1, 3 * SAMPLE_RATE), dtype=np.float32)
    path = write_wav(tmp_path / "long.wav", np.concatenate([jfk, gap, jfk, gap, jfk], axis=1))
    monkeypatch.setattr(transcribe_module, "WINDOW_SECONDS", 15.0)
    windows = _count_windows(monkeypatch)

    transcript = transcribe(path, language="en", model="tiny.en")

    assert len(windows) >= 2
    # windows start in pauses: no word straddles a window's start
    assert not [(w, t) for w in transcript.words for t in windows[1:] if w.start < t < w.end]
    assert normalize_words(transcript.text) == normalize_words(JFK) * 3
    assert_well_timed(transcript)
    period = (jfk.shape[1] + gap.shape[1]) / SAMPLE_RATE
    firsts = [w.start for w in transcript.words if normalize_words(w.word) == ["and"]]
    # whisper places a first word to within a few hundred ms; a wrong window offset would be seconds off
    assert firsts == pytest.approx([0.0, period, 2 * period], abs=1.0)


@pytest.mark.slow
def test_speech_without_pauses_is_cut_inside_short_pauses(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a 30 s conversation with no 2 s pause and 10 s windows
    monkeypatch.setattr(transcribe_module, "WINDOW_SECONDS", 10.0)
    reference = [
        word
        for line in (data_dir / "sample.stm").read_text(encoding="utf-8").splitlines()
        for word in normalize_words(" ".join(line.split()[5:]))
    ]

    windows = _count_windows(monkeypatch)

    windowed = transcribe(data_dir / "sample.wav", language="en")

    assert len(windows) >= 3
    assert not [(w, t) for w in windowed.words for t in windows[1:] if w.start < t < w.end]

    # THEN windows end between words: the text stays close to the reference (whisper base, WER)
    assert _wer(reference, normalize_words(windowed.text)) < 0.3
    assert_well_timed(windowed)


@pytest.mark.slow
def test_a_meeting_without_2_s_pauses_loses_no_utterance_at_its_30_s_windows(tmp_path: Path) -> None:
    # GIVEN a two-minute two-voice meeting whose turns are 0.4 s apart (one VAD region), with the
    # participants' names as hotwords, as the stage gives them
    from tests.speech import synthetic

    assert synthetic.tools_available(), "espeak-ng and sox are missing: `make setup` installs them"
    meeting = json.loads((Path(__file__).parents[1] / "data/transcripts/advisor-review.json").read_text())
    path = tmp_path / "meeting.wav"
    synthetic.synthesize(meeting, path)
    people = meeting["participants"]

    # WHEN it is transcribed
    transcript = transcribe(
        path, language="en", hotwords=transcribe_module.hotwords_of([people["host"], people["client"]])
    )

    # THEN every 30 s clip starts at a pause and is decoded from its start: whisper's own seeking
    # over the unbroken speech started windows mid-turn and skipped two passages (WER 0.293, 92 of
    # 314 words; 0.146 with clips, 2026-12-02, base)
    truth = normalize_words(" ".join(u["text"] for u in meeting["utterances"]))
    assert _wer(truth, normalize_words(transcript.text)) < 0.2
    assert_well_timed(transcript)


@pytest.mark.slow
def test_a_batched_clip_that_is_refused_is_decoded_again_on_the_sequential_path(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN jfk, the two voices of stereo_diarization and jfk again, 3 s apart, in clips of at
    # most 20 s: [jfk, left, right] and [jfk]; the check refuses the second clip
    jfk, stereo = decode(data_dir / "jfk.flac"), decode(data_dir / "stereo_diarization.wav", mono=False)
    gap = np.zeros((1, 3 * SAMPLE_RATE), dtype=np.float32)
    parts = [jfk, gap, stereo[:1], gap, stereo[1:], gap]
    path = write_wav(tmp_path / "clips.wav", np.concatenate([*parts, jfk], axis=1))
    monkeypatch.setattr(transcribe_module, "CLIP_SECONDS", 20.0)
    check, seen = decoding.clip_check, []

    def refusing_the_second(segments: Any, thresholds: Any, *, end: float | None = None) -> str | None:
        seen.append(check(segments, thresholds, end=end))
        return "refused by the test" if len(seen) == 2 else seen[-1]

    monkeypatch.setattr(decoding, "clip_check", refusing_the_second)

    # WHEN it is transcribed batched, and (as before batching) sequentially
    batched = transcribe(path, language="en", model="tiny.en")
    monkeypatch.setattr(transcribe_module, "BATCH_SIZE", None)
    sequential = transcribe(path, language="en", model="tiny.en")

    # THEN the first clip is kept from the batch; the refused one is decoded again, one at a time:
    # its words are the sequential path's, at its times
    assert seen == [None, None]
    second = sum(part.shape[1] for part in parts) / SAMPLE_RATE - 0.5  # VAD pads speech by 0.4 s
    first = [w for w in batched.words if w.start < second]
    assert normalize_words(" ".join(w.word for w in first)) == normalize_words(f"{JFK} {LEFT} {RIGHT}")
    again = [w for w in batched.words if w.start >= second]
    expected = [w for w in sequential.words if w.start >= second]
    assert normalize_words(" ".join(w.word for w in again)) == normalize_words(JFK)
    assert [w.word for w in again] == [w.word for w in expected]
    # to within whisper's first-word heuristic, which looks at the end of the speech decoded before
    assert [w.start for w in again] == pytest.approx([w.start for w in expected], abs=0.15)
    assert [w.end for w in again] == pytest.approx([w.end for w in expected], abs=0.15)
    assert_well_timed(batched)


@pytest.mark.slow
def test_a_batched_clip_whisper_would_not_accept_is_not_kept(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN sample.wav reversed: speech-like sound that whisper cannot read, whose batched
    # decoding (temperature 0, no fallback) is a repeated guess ("I'm not sure." four times, or
    # "I'm going to go to the hospital." twice: it changes with the last bit of the audio)
    path = write_wav(tmp_path / "reversed.wav", decode(data_dir / "sample.wav")[:, ::-1])
    check, refused = decoding.clip_check, []

    def recording(segments: Any, thresholds: Any, *, end: float | None = None) -> str | None:
        reason = check(segments, thresholds, end=end)
        if reason:
            refused.append("".join(segment.text for segment in segments))
        return reason

    monkeypatch.setattr(decoding, "clip_check", recording)

    # WHEN it is transcribed
    transcript = transcribe(path, language="en", model="tiny.en")

    # THEN whisper's own checks refuse the batched decoding (its mean log-probability is under
    # -1.0), and the stage keeps what the sequential path decodes instead, with its temperature
    # fallback (sampled, so its words are not compared here; the test above compares them)
    assert refused
    assert normalize_words(transcript.text) != normalize_words(" ".join(refused)), transcript.text


def _count_windows(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the start (seconds) of each window whisper is run on."""
    starts: list[float] = []
    run = decoding.Decoder.run

    def counting(self: decoding.Decoder, window: windows.Window, channel: int) -> None:
        starts.append(window.offset / SAMPLE_RATE)
        run(self, window, channel)

    monkeypatch.setattr(decoding.Decoder, "run", counting)
    return starts


def _wer(reference: list[str], hypothesis: list[str]) -> float:
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        prev, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ref != hyp))
    return row[-1] / max(len(reference), 1)
