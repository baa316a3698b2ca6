"""The result of diarization, whichever way it was made (the pipeline or one speaker per channel).

No heavy imports: the per-channel path, the stages and the tests use these types without torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict


@dataclass(frozen=True)
class Turn:
    """One stretch of speech by one speaker, in seconds from the start of the recording."""

    start: float
    end: float
    speaker: str

    def to_dict(self) -> dict[str, Any]:
        """Serialise with times rounded to milliseconds."""
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speaker": self.speaker}


class VoiceDict(TypedDict):
    """A stretch where a voice is heard (:func:`agentflow.speech.voice.voice_activity`), serialised."""

    start: float
    end: float


def voice_dicts(spans: Sequence[tuple[float, float]]) -> list[VoiceDict]:
    """``(start, end)`` seconds as :class:`VoiceDict`, rounded to milliseconds."""
    return [{"start": round(start, 3), "end": round(end, 3)} for start, end in spans]


@dataclass(frozen=True)
class Diarization:
    """The result of either mode: ``turns`` may overlap; ``exclusive`` has one speaker at a time."""

    mode: str  # "pipeline" | "per_channel"
    duration: float  # seconds
    speakers: list[str]
    turns: list[Turn] = field(default_factory=list)
    exclusive: list[Turn] = field(default_factory=list)
    # Where Silero VAD hears a voice, whoever it is (agentflow.speech.voice); None: not measured
    # (per-channel mode, whose turns are that already; a diarization from before it was kept).
    voice: list[tuple[float, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``diarization.json`` document (``voice`` only when measured)."""
        document: dict[str, Any] = {
            "mode": self.mode,
            "duration": round(self.duration, 3),
            "speakers": list(self.speakers),
            "turns": [turn.to_dict() for turn in self.turns],
            "exclusive": [turn.to_dict() for turn in self.exclusive],
        }
        if self.voice is not None:
            document["voice"] = voice_dicts(self.voice)
        return document
