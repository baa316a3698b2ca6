"""The summary's transcript as subtitles and text: WebVTT (with voice tags), SRT, plain text, JSON.

Every format is made from the signed summary's utterances (``{"id", "speaker", "start", "end",
"text"}``), so what a player shows is what the signature covers. Cues are in time order; a cue
never ends before it starts (WebVTT and SRT require end > start, so a zero-length utterance gets
one millisecond).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal

Format = Literal["vtt", "srt", "txt", "json"]
MEDIA_TYPES: Final[Mapping[str, str]] = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
}


def _cues(utterances: Sequence[Mapping[str, Any]]) -> list[tuple[float, float, str, str]]:
    ordered = sorted(utterances, key=lambda u: (float(u["start"]), float(u["end"])))
    cues = []
    for u in ordered:
        start = round(float(u["start"]), 3)
        end = max(round(float(u["end"]), 3), round(start + 0.001, 3))
        cues.append((start, end, str(u["speaker"]), " ".join(str(u["text"]).split())))
    return cues


def timestamp(seconds: float, *, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``separator`` "," for SRT)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _vtt_escape(text: str) -> str:
    # WebVTT cue text: "&", "<" and ">" only as character references (W3C WebVTT, 4.2.2).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(utterances: Sequence[Mapping[str, Any]]) -> str:
    """WebVTT: one cue per utterance, the speaker as a ``<v Name>`` voice span."""
    blocks = ["WEBVTT"]
    for index, (start, end, speaker, text) in enumerate(_cues(utterances), start=1):
        blocks.append(
            f"{index}\n{timestamp(start)} --> {timestamp(end)}\n<v {_vtt_escape(speaker)}>{_vtt_escape(text)}</v>"
        )
    return "\n\n".join(blocks) + "\n"


def to_srt(utterances: Sequence[Mapping[str, Any]]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, the speaker's name before the text."""
    blocks = [
        f"{index}\n{timestamp(start, separator=',')} --> {timestamp(end, separator=',')}\n{speaker}: {text}"
        for index, (start, end, speaker, text) in enumerate(_cues(utterances), start=1)
    ]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def to_txt(utterances: Sequence[Mapping[str, Any]]) -> str:
    """One line per utterance: ``[HH:MM:SS.mmm - HH:MM:SS.mmm] Name: text``."""
    return "".join(
        f"[{timestamp(start)} - {timestamp(end)}] {speaker}: {text}\n"
        for start, end, speaker, text in _cues(utterances)
    )


def to_json(utterances: Sequence[Mapping[str, Any]]) -> str:
    """The utterances as a JSON array, as the summary holds them."""
    keys = ("id", "speaker", "start", "end", "text")
    return json.dumps([{k: u[k] for k in keys if k in u} for u in utterances], ensure_ascii=False, indent=2)


RENDERERS: Final[Mapping[str, Callable[[Sequence[Mapping[str, Any]]], str]]] = {
    "vtt": to_vtt,
    "srt": to_srt,
    "txt": to_txt,
    "json": to_json,
}


def render(summary: Mapping[str, Any], format: Format) -> str:
    """The transcript of a summary document in ``format``."""
    return RENDERERS[format](summary.get("transcript") or [])
