"""Where one channel's speech is, and how it is cut for whisper: windows, seam trimming, clips.

Pure planning on the audio with Silero VAD (faster-whisper's), no model: :class:`Windower` cuts a
channel's stream of blocks into windows of about ten minutes that end inside pauses;
:func:`seam_speech` drops a chunk's speech that no seam can need; :func:`pieces_of` splits a long
region at its short pauses and :func:`pack_clips` packs the pieces into clips of at most 30 s.
The VAD options come from the caller (``agentflow.speech.transcribe.VAD_OPTIONS``). Times are in
samples (16 kHz) unless a name says seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from faster_whisper.vad import VadOptions, get_speech_timestamps

from agentflow.speech.audio import SAMPLE_RATE

# Re-examined by the next window when a window ends in silence: speech may be starting there.
_CARRY_SECONDS: Final = 3.0
# Splits unbroken speech at its shortest pauses when a whole window has no 2 s pause to cut at.
_MAX_PIECE_SECONDS: Final = 30.0
# A chunk cuts speech running past its seam zone at a pause at least this long (ms): VAD's own
# 2 s minimum silence finds none inside a turn, and a shorter one can fall between two words.
_TRIM_SILENCE_MS: Final = 300


@dataclass
class Window:
    """A stretch of one channel that ends in a pause, and the speech VAD found in it."""

    offset: int  # samples from the start of the channel
    audio: npt.NDArray[np.float32]  # (samples,)
    speech: list[dict[str, int]]  # VAD chunks, {"start", "end"} in samples within ``audio``


@dataclass
class Windower:
    """Cuts one channel's stream of blocks into windows that end in pauses."""

    window: int  # samples
    vad_options: Mapping[str, Any]
    blocks: list[npt.NDArray[np.float32]] = field(default_factory=list)
    size: int = 0
    offset: int = 0

    def push(self, block: npt.NDArray[np.float32]) -> Iterator[Window]:
        """Add a block; yield every window that is now complete."""
        self.blocks.append(block)
        self.size += block.shape[0]
        while self.size >= self.window:
            yield self._cut(final=False)

    def finish(self) -> Iterator[Window]:
        """Yield the last window, the rest of the stream, if any."""
        if self.size:
            yield self._cut(final=True)

    def _cut(self, *, final: bool) -> Window:
        audio = np.concatenate(self.blocks)
        speech = vad_regions(audio, self.vad_options)
        if final:
            cut, keep = audio.shape[0], speech
        else:
            cut, keep = choose_cut(audio.shape[0], speech)
            if cut is None:
                speech = vad_regions(audio, self.vad_options, max_speech_s=_MAX_PIECE_SECONDS)
                cut, keep = choose_cut(audio.shape[0], speech)
            if not cut:
                # Unreachable with 30 s pieces in a 600 s window; never loop without progress.
                cut, keep = audio.shape[0], speech
        window = Window(self.offset, audio[:cut], keep)
        rest = audio[cut:].copy()  # a copy, so the window's array is freed once transcribed
        self.blocks, self.size, self.offset = [rest], rest.shape[0], self.offset + cut
        return window


def vad_regions(
    audio: npt.NDArray[np.float32], vad_options: Mapping[str, Any], max_speech_s: float = float("inf")
) -> list[dict[str, int]]:
    """Silero VAD's speech regions in ``audio`` (samples), none longer than ``max_speech_s``."""
    options = VadOptions(**vad_options, max_speech_duration_s=max_speech_s)
    chunks: list[dict[str, int]] = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return chunks


def choose_cut(samples: int, speech: list[dict[str, int]]) -> tuple[int | None, list[dict[str, int]]]:
    """Where to end a window of ``samples``, and the speech chunks it keeps.

    A chunk still running at the window's end reaches exactly ``samples``; it and everything after
    the last finished chunk go to the next window. ``None`` means no chunk has finished.
    """
    carry = int(_CARRY_SECONDS * SAMPLE_RATE)
    closed = [chunk for chunk in speech if chunk["end"] < samples]
    if not speech:
        return samples - carry, []
    if not closed:
        return (speech[0]["start"] or None), []
    if len(closed) < len(speech):
        return closed[-1]["end"], closed
    return max(closed[-1]["end"], samples - carry), closed


def seam_speech(window: Window, lo: float, hi: float, vad_options: Mapping[str, Any]) -> list[dict[str, int]]:
    """A chunk's speech that a seam can need: none wholly before ``lo`` or after ``hi`` (samples).

    :func:`agentflow.speech.seams.merge_transcripts` places each seam at most ``OVERLAP / 2`` from
    its cut, so a chunk's words before ``start - OVERLAP / 2`` or after ``end + OVERLAP / 2`` are
    never kept. Decoding them is not only wasted: the read edge usually falls inside a word, and on the truncated last 30 s
    whisper can loop and run all six temperature fallbacks (dev00, chunk 10.15-20.35 s: 7 failed
    decodes, 21-32 s for 20 s of audio). A region crossing ``hi`` ends at its first pause
    (:data:`_TRIM_SILENCE_MS`) past it, one crossing ``lo`` starts at its last pause before it; a
    region without such a pause is kept whole.
    """
    if lo == float("-inf") and hi == float("inf"):
        return window.speech  # unchunked: unchanged
    options = VadOptions(**{**vad_options, "min_silence_duration_ms": _TRIM_SILENCE_MS})
    kept: list[dict[str, int]] = []
    for region in window.speech:
        begin, finish = window.offset + region["start"], window.offset + region["end"]
        if begin >= hi or finish <= lo:
            continue
        if begin < lo or finish > hi:
            parts = get_speech_timestamps(
                window.audio[region["start"] : region["end"]], options, sampling_rate=SAMPLE_RATE
            )
            if finish > hi:
                ends = [begin + p["end"] for p in parts[:-1] if begin + p["end"] >= hi]
                if ends:
                    finish = ends[0]
            if begin < lo:
                starts = [begin + p["start"] for p in parts[1:] if begin + p["start"] <= lo]
                if starts:
                    begin = starts[-1]
        if begin < finish:
            kept.append({"start": begin - window.offset, "end": finish - window.offset})
    return kept


def pieces_of(window: Window, seconds: float, vad_options: Mapping[str, Any]) -> list[dict[str, int]]:
    """The window's speech with every region longer than ``seconds`` split at its last short pause
    (VAD's ``max_speech_duration_s``: the last silence over 98 ms before the limit), in samples."""
    options = VadOptions(**vad_options, max_speech_duration_s=seconds)
    limit = int(seconds * SAMPLE_RATE)
    pieces: list[dict[str, int]] = []
    for region in window.speech:
        if region["end"] - region["start"] <= limit:
            pieces.append(region)
            continue
        inner = get_speech_timestamps(
            window.audio[region["start"] : region["end"]], options, sampling_rate=SAMPLE_RATE
        )
        pieces.extend(
            {"start": region["start"] + p["start"], "end": region["start"] + p["end"]} for p in inner
        )
    return pieces


def pack_clips(pieces: list[dict[str, int]], seconds: float) -> list[float]:
    """``[start, end, start, end, …]`` (seconds of the concatenated pieces): consecutive pieces packed
    into clips of at most ``seconds``, each decoded on its own from its start."""
    limit = int(seconds * SAMPLE_RATE)
    bounds: list[int] = []
    start = position = 0
    for piece in pieces:
        length = piece["end"] - piece["start"]
        if position + length - start > limit and position > start:
            bounds += [start, position]
            start = position
        position += length
    bounds += [start, position]
    return [b / SAMPLE_RATE for b in bounds]
