"""Transcript exports: WebVTT and SRT validate (cue timing, order, voice tags) and round-trip."""

from __future__ import annotations

import json
import re
from typing import Any

from agentflow.reports.transcript import render, timestamp, to_srt, to_txt, to_vtt

UTTERANCES: list[dict[str, Any]] = [
    {
        "id": "u2",
        "speaker": "Tom Becker",
        "start": 6.48,
        "end": 10.66,
        "text": "Sure. We looked at <both> & more.",
    },
    {"id": "u1", "speaker": "Priya Nair", "start": 0.0, "end": 6.08, "text": "Hi Tom,  thanks\nfor joining."},
    {"id": "u3", "speaker": "Speaker 3", "start": 3725.5, "end": 3725.5, "text": "Bye."},  # zero length
]

_VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"


def _seconds(match: tuple[str, ...]) -> float:
    h, m, s, ms = (int(x) for x in match)
    return h * 3600 + m * 60 + s + ms / 1000


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_vtt(document: str) -> list[tuple[float, float, str, str]]:
    """A strict reader for what we write: header, then blocks of id / timing / one voice span."""
    assert document.startswith("WEBVTT\n\n") and document.endswith("\n")
    cues = []
    for index, block in enumerate(document.rstrip("\n").split("\n\n")[1:], start=1):
        ident, timing, payload = block.split("\n")
        assert ident == str(index)
        times = re.fullmatch(rf"{_VTT_TIME} --> {_VTT_TIME}", timing)
        assert times, timing
        voice = re.fullmatch(r"<v ([^>]+)>([^<>]*)</v>", payload)
        assert voice, payload
        cues.append(
            (
                _seconds(times.groups()[:4]),
                _seconds(times.groups()[4:]),
                _unescape(voice[1]),
                _unescape(voice[2]),
            )
        )
    return cues


def parse_srt(document: str) -> list[tuple[float, float, str, str]]:
    cues = []
    for index, block in enumerate(document.rstrip("\n").split("\n\n"), start=1):
        ident, timing, payload = block.split("\n")
        assert ident == str(index)
        times = re.fullmatch(rf"{_SRT_TIME} --> {_SRT_TIME}", timing)
        assert times, timing
        speaker, text = payload.split(": ", 1)
        cues.append((_seconds(times.groups()[:4]), _seconds(times.groups()[4:]), speaker, text))
    return cues


def _check_timing(cues: list[tuple[float, float, str, str]]) -> None:
    for start, end, _, _ in cues:
        assert end > start
    assert [c[0] for c in cues] == sorted(c[0] for c in cues)


def test_vtt_validates_and_round_trips() -> None:
    cues = parse_vtt(to_vtt(UTTERANCES))
    _check_timing(cues)
    assert cues == [
        (0.0, 6.08, "Priya Nair", "Hi Tom, thanks for joining."),
        (6.48, 10.66, "Tom Becker", "Sure. We looked at <both> & more."),
        (3725.5, 3725.501, "Speaker 3", "Bye."),
    ]
    assert "&lt;both&gt; &amp; more" in to_vtt(UTTERANCES)
    assert to_vtt([]) == "WEBVTT\n"


def test_srt_validates_and_round_trips() -> None:
    cues = parse_srt(to_srt(UTTERANCES))
    _check_timing(cues)
    assert [(c[2], c[3]) for c in cues] == [
        ("Priya Nair", "Hi Tom, thanks for joining."),
        ("Tom Becker", "Sure. We looked at <both> & more."),
        ("Speaker 3", "Bye."),
    ]
    assert cues[2][:2] == (3725.5, 3725.501)
    assert "01:02:05,500 --> 01:02:05,501" in to_srt(UTTERANCES)


def test_text_and_json() -> None:
    lines = to_txt(UTTERANCES).splitlines()
    assert lines[0] == "[00:00:00.000 - 00:00:06.080] Priya Nair: Hi Tom, thanks for joining."
    assert len(lines) == 3
    summary = {"transcript": UTTERANCES}
    assert json.loads(render(summary, "json")) == UTTERANCES
    assert render(summary, "vtt") == to_vtt(UTTERANCES)
    assert timestamp(59.9995) == "00:01:00.000"
