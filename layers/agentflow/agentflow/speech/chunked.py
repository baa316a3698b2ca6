"""Diarization of a long recording in chunks: per chunk, local speakers; at the fan-in, one clustering.

A chunk job (:func:`agentflow.speech.diarize.diarize_chunk`) decodes only its read span, the chunk's
own span ``[start, end)`` widened by :data:`CONTEXT` on each side, runs the pipeline on it and writes a
chunk artifact (:class:`ChunkPart`): its turns in seconds of the recording, labelled with *local*
speakers, for each local speaker the centroid of its speaker embeddings and its speaking time, and
the resegmentation's cell embeddings, compressed (:class:`ChunkCells`). :func:`merge_chunks`
clusters every chunk's local speakers once, so that a person keeps one label across the recording,
then decides who speaks each cell of a chunk against what the *other* chunks say each person sounds
like, and keeps of each chunk only its own span. (Per-channel recordings need no clustering:
:func:`agentflow.speech.per_channel.merge_channels`.)

numpy only, no torch and no scipy: the fan-in runs wherever the stage runs, in milliseconds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from agentflow.errors import PermanentStageError
from agentflow.speech.diarization import Diarization, Turn, VoiceDict, voice_dicts
from agentflow.speech.resegment import CELL, WINDOW, cell_masks, centroid_sums, resegment, unit
from agentflow.speech.resegment import join_turns as join_turns  # per_channel's, from here as before

# Seconds of audio decoded on each side of a chunk's own span. segmentation-3.0 sees 10 s windows:
# with 10 s of context every second of the chunk is covered by as many windows as in an unchunked
# run, and the local clustering hears each voice near the cut for longer (docs/DIARIZATION.md, "Chunks").
CONTEXT = 10.0
# Per-channel chunks: Silero VAD's state settles within a few hundred milliseconds.
CHANNEL_CONTEXT = 2.0

# Global clustering of local speakers: the pipeline's linkage and threshold (centroid linkage over
# unit-normalised embeddings, euclidean; diarize.PARAMETERS), local speakers standing for its slices.
THRESHOLD = 0.7
# A cluster with less speech than this (seconds) is too little to stand for a person of its own: it
# joins the nearest one (pyannote's min_cluster_size, 12 slice embeddings, is ~2.4 s of speech in
# one file; a local speaker's centroid with less than a few seconds behind it is noise).
MIN_SPEECH = 5.0

_JOIN = 1e-3  # s: chunk spans this close meet (chunk times are rounded to milliseconds)

# Cell embeddings in the artifact: each chunk's unit cell embeddings projected on their first
# CELL_RANK principal components (the chunk's own), stored as int8 per component. On the 12-minute
# AMI conversation in 4 chunks the merge's DER with them is within 0.1 point of the full 192 floats
# (rank 16: 0.2 point, rank 8: 0.4); ~73 kB of base64 per 200 s read, against ~1.5 MB as float32.
CELL_RANK = 32


class TurnDict(TypedDict):
    """A serialised :class:`~agentflow.speech.diarization.Turn`."""

    start: float
    end: float
    speaker: str


class ChunkSpeaker(TypedDict):
    """A chunk's local speaker: what the global clustering needs of it."""

    label: str  # local to the chunk
    embedding: list[float] | None  # centroid of its speaker embeddings (192 floats); None: none made
    speech: float  # seconds of its turns in the read span


class ChunkCells(TypedDict):
    """A chunk's resegmentation cells: one speaker embedding per :data:`~agentflow.speech.resegment.CELL`
    seconds of its read span, compressed (:func:`pack_cells`)."""

    origin: float  # seconds of the recording where cell 0 starts (the read span's start)
    step: float  # seconds per cell
    count: int  # cells
    valid: str  # base64 of numpy.packbits of the (count,) mask of cells that have an embedding
    mean: list[float]  # (192,) mean of the valid cells' unit embeddings
    basis: str  # base64 little-endian float16 (rank, 192): principal directions, orthonormal rows
    scale: list[float]  # (rank,) value of one int8 step per component
    rows: str  # base64 int8 (valid cells, rank): each valid cell's components


class ChunkPart(TypedDict):
    """The shape of one chunk job's artifact (JSON)."""

    mode: str  # "pipeline"
    start: float  # the chunk's own span [start, end), seconds of the recording
    end: float
    read_start: float  # what was decoded: [start - CONTEXT, end + CONTEXT] within the recording
    read_end: float
    duration: float  # of the whole recording
    speakers: list[ChunkSpeaker]
    turns: list[TurnDict]  # over the read span, seconds of the recording, local labels
    exclusive: list[TurnDict]
    cells: ChunkCells | None  # None: none made (no speech; an artifact from before they were kept)
    voice: list[VoiceDict] | None  # over the read span; None: not measured (an older artifact)


def read_span(start: float, end: float, duration: float, *, context: float = CONTEXT) -> tuple[float, float]:
    """The span a chunk job decodes: ``[start - context, end + context]`` clipped to ``[0, duration]``.

    Raises:
        PermanentStageError: an empty or inverted chunk, or one outside the recording.
    """
    if not 0.0 <= start < end or start >= duration:
        raise PermanentStageError(f"chunk [{start}, {end}) is empty or outside a {duration} s recording")
    return max(0.0, start - context), min(duration, end + context)


def make_part(
    *,
    start: float,
    end: float,
    read: tuple[float, float],
    duration: float,
    turns: Sequence[Turn],
    exclusive: Sequence[Turn],
    embeddings: Mapping[str, npt.NDArray[np.floating[Any]] | None],
    cells: npt.NDArray[np.floating[Any]] | None = None,
    voice: Sequence[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Build a chunk artifact (:class:`ChunkPart`) from the read span's turns, in absolute seconds.

    Args:
        start: the chunk's own span, start (s).
        end: the chunk's own span, end (s).
        read: the decoded span (s).
        duration: the recording's duration (s).
        turns: the read span's turns, local labels.
        exclusive: the one-speaker-at-a-time view of the read span.
        embeddings: per local label, its centroid embedding (None, or zeros: none was made).
        cells: (cells, dimension) the resegmentation's window embedding per cell of the read span
            from ``read[0]``, NaN rows where none; None when none were made.
        voice: where a voice is heard in the read span (s); None: not measured.
    """
    speech: dict[str, float] = {}
    for turn in turns:
        speech[turn.speaker] = speech.get(turn.speaker, 0.0) + turn.end - turn.start
    speakers: list[ChunkSpeaker] = []
    for label in speech:  # in order of first speech
        vector = embeddings.get(label)
        usable = vector is not None and bool(np.all(np.isfinite(vector))) and bool(np.any(vector != 0))
        speakers.append(
            {
                "label": label,
                "embedding": [round(float(x), 6) for x in vector] if vector is not None and usable else None,
                "speech": round(speech[label], 3),
            }
        )
    part: ChunkPart = {
        "mode": "pipeline",
        "start": round(start, 3),
        "end": round(end, 3),
        "read_start": round(read[0], 3),
        "read_end": round(read[1], 3),
        "duration": round(duration, 3),
        "speakers": speakers,
        "turns": [_turn_dict(t) for t in turns],
        "exclusive": [_turn_dict(t) for t in exclusive],
        "cells": None if cells is None else pack_cells(cells, origin=read[0]),
        "voice": None if voice is None else voice_dicts(voice),
    }
    return dict(part)


def _turn_dict(turn: Turn) -> TurnDict:
    return {"start": round(turn.start, 3), "end": round(turn.end, 3), "speaker": turn.speaker}


def pack_cells(
    embeddings: npt.NDArray[np.floating[Any]], *, origin: float, step: float = CELL, rank: int = CELL_RANK
) -> ChunkCells | None:
    """Compress a chunk's cell embeddings: unit vectors on their first ``rank`` principal components.

    Args:
        embeddings: (cells, dimension) NaN rows where a cell has none.
        origin: seconds of the recording where cell 0 starts.
        step: seconds per cell.
        rank: components kept (at most the valid cells and the dimension).

    Returns:
        The artifact's ``cells``; None when no cell has an embedding.
    """
    vectors = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    valid = np.isfinite(norms) & (norms > 0)
    if not valid.any():
        return None
    units = vectors[valid] / norms[valid, None]
    mean = units.mean(axis=0)
    _, _, directions = np.linalg.svd(units - mean, full_matrices=False)
    basis = directions[: min(rank, directions.shape[0])].astype("<f2")
    components = (units - mean) @ basis.astype(np.float64).T  # (valid cells, rank)
    scale = np.maximum(np.abs(components).max(axis=0), 1e-12) / 127.0
    rows = np.clip(np.round(components / scale), -127, 127).astype(np.int8)
    return {
        "origin": round(origin, 3),
        "step": step,
        "count": int(vectors.shape[0]),
        "valid": base64.b64encode(np.packbits(valid).tobytes()).decode("ascii"),
        "mean": [round(float(x), 6) for x in mean],
        "basis": base64.b64encode(basis.tobytes()).decode("ascii"),
        "scale": [float(x) for x in scale],
        "rows": base64.b64encode(rows.tobytes()).decode("ascii"),
    }


def unpack_cells(cells: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """(count, dimension) the cell embeddings :func:`pack_cells` kept (not unit length), NaN rows where none."""
    count = int(cells["count"])
    valid = np.unpackbits(np.frombuffer(base64.b64decode(cells["valid"]), dtype=np.uint8), count=count)
    mean = np.asarray(cells["mean"], dtype=np.float64)
    basis = np.frombuffer(base64.b64decode(cells["basis"]), dtype="<f2").astype(np.float64)
    basis = basis.reshape(-1, mean.shape[0])
    rows = np.frombuffer(base64.b64decode(cells["rows"]), dtype=np.int8).astype(np.float64)
    rows = rows.reshape(-1, basis.shape[0]) * np.asarray(cells["scale"], dtype=np.float64)
    out = np.full((count, mean.shape[0]), np.nan)
    out[valid.astype(bool)] = mean + rows @ basis
    return out


# ------------------------------------------------------------------------------------------- merge
def merge_chunks(
    parts: Sequence[Mapping[str, Any]],
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> Diarization:
    """Join the chunk artifacts of one recording into its diarization.

    One clustering of every chunk's local speakers (:func:`cluster_speakers`); each chunk's turns
    relabelled with their global speaker, who speaks each of its cells decided again against the
    other chunks' people (:func:`_redecided`), and cut to the chunk's own span; a speaker's turns that meet
    (at a cut, or two local speakers of one chunk found to be one person) joined; labels
    ``SPEAKER_00``, ``SPEAKER_01``, … in order of first speech. The result depends on the set of parts
    only: their order, and a part given twice (a redelivered chunk), change nothing.

    Args:
        parts: :class:`ChunkPart` documents, all of one recording.
        num_speakers: exact number of speakers, when known; overrides the bounds.
        min_speakers: lower bound on the number of speakers.
        max_speakers: upper bound on the number of speakers.

    Returns:
        The recording's ``pipeline``-mode diarization, as :func:`~agentflow.speech.diarize.diarize`
        returns it.

    Raises:
        PermanentStageError: no parts, a part of another mode, spans that leave a gap or overlap or
            do not start at 0, inconsistent counts.
    """
    check_counts(num_speakers, min_speakers, max_speakers)
    chunks = _distinct(parts)
    mapping = _relabel(
        chunks, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
    )
    views = _redecided(chunks, mapping)
    turns = join_turns([turn for own, _ in views for turn in own])
    exclusive = join_turns([turn for _, own in views for turn in own])
    # SPEAKER_00, SPEAKER_01, … in order of first speech (a tie: the longer turn, then the cluster).
    first = {t.speaker: (t.start, -t.end, t.speaker) for t in reversed(turns)}
    names = {
        cluster: f"SPEAKER_{index:02d}" for index, cluster in enumerate(sorted(first, key=first.__getitem__))
    }
    return Diarization(
        mode="pipeline",
        duration=max(float(part["duration"]) for part in chunks),
        speakers=list(names.values()),
        turns=_renamed(turns, names),
        exclusive=_renamed([t for t in exclusive if t.speaker in names], names),
        voice=_voice(chunks),
    )


def _voice(chunks: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]] | None:
    """The recording's voice activity: each chunk's own span of it, joined at the cuts; None unless
    every chunk measured it."""
    if any(part.get("voice") is None for part in chunks):
        return None
    own = [
        turn
        for part in chunks
        for turn in _cut(
            [Turn(float(v["start"]), float(v["end"]), "") for v in part["voice"]],
            float(part["start"]),
            float(part["end"]),
        )
    ]
    return [(t.start, t.end) for t in join_turns(own)]


def check_counts(num: int | None, low: int | None, high: int | None) -> None:
    """Refuse speaker counts that cannot hold.

    Raises:
        PermanentStageError: a count below 1, or ``low > high``.
    """
    for name, value in (("num_speakers", num), ("min_speakers", low), ("max_speakers", high)):
        if value is not None and value < 1:
            raise PermanentStageError(f"{name} must be at least 1, got {value}")
    if low is not None and high is not None and low > high:
        raise PermanentStageError(f"min_speakers ({low}) is greater than max_speakers ({high})")


def _distinct(parts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The parts in time order, one per span; refuse what can never be one recording.

    A chunk delivered twice is one part; two artifacts of one span (a job recomputed) are one too,
    the same one whatever the order they come in.
    """
    if not parts:
        raise PermanentStageError("no chunk to merge")
    if any(part.get("mode") != "pipeline" for part in parts):
        raise PermanentStageError("merge_chunks joins pipeline chunks (per-channel: merge_channels)")
    spans: dict[tuple[float, float], tuple[str, Mapping[str, Any]]] = {}
    for part in parts:
        span = (float(part["start"]), float(part["end"]))
        key = json.dumps(part, sort_keys=True)
        if span not in spans or key < spans[span][0]:
            spans[span] = (key, part)
    chunks = [spans[span][1] for span in sorted(spans)]
    if float(chunks[0]["start"]) > _JOIN:
        raise PermanentStageError(f"the first chunk starts at {chunks[0]['start']} s, not 0")
    for before, after in pairwise(chunks):
        if abs(float(after["start"]) - float(before["end"])) > _JOIN:
            raise PermanentStageError(
                f"chunk spans are not contiguous: {before['start']}-{before['end']} s"
                f" then {after['start']}-{after['end']} s"
            )
    return chunks


def _relabel(
    chunks: Sequence[Mapping[str, Any]],
    *,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> list[dict[str, str]]:
    """Per chunk, local label → global cluster (``"0"``, ``"1"``, …; renamed by first speech later)."""
    keys: list[tuple[int, str]] = []
    vectors: list[list[float]] = []
    weights: list[float] = []
    orphans: list[tuple[int, str]] = []
    for index, part in enumerate(chunks):
        for speaker in part["speakers"]:
            if speaker["embedding"] is None or float(speaker["speech"]) <= 0:
                orphans.append((index, speaker["label"]))
            else:
                keys.append((index, speaker["label"]))
                vectors.append(speaker["embedding"])
                weights.append(float(speaker["speech"]))
    mapping: list[dict[str, str]] = [{} for _ in chunks]
    clusters = (
        cluster_speakers(
            np.asarray(vectors, dtype=np.float64),
            np.asarray(weights, dtype=np.float64),
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
        if keys
        else []
    )
    totals: dict[str, float] = {}
    for (index, label), cluster, weight in zip(keys, clusters, weights, strict=True):
        mapping[index][label] = str(cluster)
        totals[str(cluster)] = totals.get(str(cluster), 0.0) + weight
    # A local speaker without an embedding (pyannote found more speakers at once than it made
    # clusters) goes to the cluster that speaks most overall: there is nothing else to go by.
    biggest = min(totals, key=lambda g: (-totals[g], g)) if totals else "0"
    for index, label in orphans:
        mapping[index][label] = biggest
    return mapping


def _redecided(
    chunks: Sequence[Mapping[str, Any]], mapping: Sequence[Mapping[str, str]]
) -> list[tuple[list[Turn], list[Turn]]]:
    """Per chunk, its turns and exclusive turns with global labels, cut to its own span.

    Relabelling a local speaker whole cannot undo a local speaker that holds two people (the chunk's
    clustering joined them: on the 12-minute AMI conversation in 180 s chunks, 5-8 s local speakers
    at 54-67 % purity, most of what the chunked run lost against the unchunked one). So where a chunk
    carries its cells, who speaks each cell of its speech is decided again by the resegmentation
    (:func:`~agentflow.speech.resegment.resegment`: cosine to each person's centroid, Viterbi with its
    switching cost) among the recording's people, each person's centroid made from the pure windows
    of the *other* chunks' own spans: a chunk is judged by how each person sounds elsewhere, not by
    centroids its own mistakes made. A person no other chunk has keeps their cells; with one chunk
    nothing changes (its own resegmentation already chose among its local speakers, a finer choice).
    """
    people = sorted({cluster for labels in mapping for cluster in labels.values()})
    relabelled = [
        (_relabelled(part["turns"], labels), _relabelled(part["exclusive"], labels))
        for part, labels in zip(chunks, mapping, strict=True)
    ]
    window = round(WINDOW / CELL)
    sums = [
        _own_sums(part, exclusive, people, window)
        for part, (_, exclusive) in zip(chunks, relabelled, strict=True)
    ]
    out: list[tuple[list[Turn], list[Turn]]] = []
    for index, (part, (turns, exclusive)) in enumerate(zip(chunks, relabelled, strict=True)):
        cells = part.get("cells")
        elsewhere = [s for j, s in enumerate(sums) if j != index and s is not None]
        others = unit(np.sum(elsewhere, axis=0)) if elsewhere else None
        if cells is not None and others is not None and int(np.isfinite(others[:, 0]).sum()) >= 2:
            origin, step = float(cells["origin"]), float(cells["step"])
            turns, exclusive = resegment(
                _shifted(turns, -origin),
                _shifted(exclusive, -origin),
                people,
                unpack_cells(cells),
                window_cells=window,
                cell=step,
                centres=others,
            )
            turns, exclusive = _shifted(turns, origin), _shifted(exclusive, origin)
        lo, hi = float(part["start"]), float(part["end"])
        out.append((_cut(turns, lo, hi), _cut(exclusive, lo, hi)))
    return out


def _relabelled(turns: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> list[Turn]:
    return [Turn(float(t["start"]), float(t["end"]), labels[t["speaker"]]) for t in turns]


def _own_sums(
    part: Mapping[str, Any], exclusive: Sequence[Turn], people: Sequence[str], window: int
) -> npt.NDArray[np.float64] | None:
    """(people, dimension) sums of the chunk's pure cells' unit embeddings per person, over its own
    span only (its context is another chunk's own span); None when it carries no cells."""
    cells = part.get("cells")
    if cells is None:
        return None
    embeddings = unpack_cells(cells)
    origin, step = float(cells["origin"]), float(cells["step"])
    centres = origin + (np.arange(embeddings.shape[0]) + 0.5) * step
    embeddings[(centres < float(part["start"])) | (centres >= float(part["end"]))] = np.nan
    masks = cell_masks(_shifted(exclusive, -origin), people, embeddings.shape[0], cell=step)
    return centroid_sums(embeddings, masks, window_cells=window)


def _shifted(turns: Sequence[Turn], by: float) -> list[Turn]:
    return [Turn(t.start + by, t.end + by, t.speaker) for t in turns]


def _cut(turns: Sequence[Turn], lo: float, hi: float) -> list[Turn]:
    """``turns`` cut to ``[lo, hi)``."""
    out: list[Turn] = []
    for turn in turns:
        start, end = max(turn.start, lo), min(turn.end, hi)
        if end > start:
            out.append(Turn(start, end, turn.speaker))
    return out


def _renamed(turns: Sequence[Turn], names: Mapping[str, str]) -> list[Turn]:
    return sorted(
        (Turn(t.start, t.end, names[t.speaker]) for t in turns), key=lambda t: (t.start, t.end, t.speaker)
    )


# -------------------------------------------------------------------------------------- clustering
def cluster_speakers(
    embeddings: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float = THRESHOLD,
    min_speech: float = MIN_SPEECH,
) -> list[int]:
    """Agglomerative clustering of local speakers weighted by their speech (centroid linkage).

    The pipeline's own clustering, with local speakers for slices: embeddings are unit-normalised, a
    cluster is the speech-weighted mean of its members, and the two clusters whose means are closest
    (euclidean) merge, until one is left. A cluster is *large* when it holds ``min_speech`` seconds
    (or a tenth of all speech, if less). The level kept is the last one with ``num_speakers`` large
    clusters; without ``num_speakers``, the last before a merge further than ``threshold``, moved to
    the nearest level within ``[min_speakers, max_speakers]``. Small clusters of that level then join
    the nearest large one (pyannote's ``min_cluster_size``, in seconds). Deterministic: ties go to
    the lower index.

    Args:
        embeddings: (n, dimension) one centroid per local speaker.
        weights: (n,) seconds of speech of each (> 0).
        num_speakers: exact number of clusters, when known.
        min_speakers: lower bound when ``num_speakers`` is None.
        max_speakers: upper bound when ``num_speakers`` is None.
        threshold: distance beyond which two clusters stay apart (without ``num_speakers``).
        min_speech: seconds of speech a cluster needs to stand on its own.

    Returns:
        Cluster index of each local speaker, 0-based, numbered in order of first member.
    """
    n = embeddings.shape[0]
    if n == 0:
        return []
    units = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    mass = weights.astype(np.float64).copy()
    means = units.copy()
    big = min(min_speech, 0.1 * float(mass.sum()))
    # (n, n) squared distances between cluster means; inf on the diagonal and for merged clusters.
    squares = (means**2).sum(axis=1)
    distances = np.maximum(squares[:, None] + squares[None, :] - 2 * means @ means.T, 0.0)
    np.fill_diagonal(distances, np.inf)
    merges: list[tuple[int, int, float]] = []  # (kept, absorbed, distance), in order
    large = [int((mass >= big).sum())]  # large clusters after each number of merges
    for _ in range(n - 1):
        a, b = divmod(int(np.argmin(distances)), n)
        a, b = min(a, b), max(a, b)
        merges.append((a, b, float(np.sqrt(distances[a, b]))))
        count = large[-1] - int(mass[a] >= big) - int(mass[b] >= big)
        means[a] = (means[a] * mass[a] + means[b] * mass[b]) / (mass[a] + mass[b])
        mass[a] += mass[b]
        large.append(count + int(mass[a] >= big))
        distances[b, :] = np.inf
        distances[:, b] = np.inf
        row = ((means - means[a]) ** 2).sum(axis=1)
        row[np.isinf(distances[:, a]) & (np.arange(n) != a)] = np.inf  # merged clusters stay out
        row[a] = np.inf
        distances[a, :] = row
        distances[:, a] = row
    counts = large if max(large) > 0 else [n - k for k in range(n)]
    if num_speakers is not None:
        low = high = num_speakers
    else:
        low, high = max(min_speakers or 1, 1), max_speakers or n
    # The threshold's level: the merges before the first one further apart than the threshold.
    level = next((k for k, (_, _, distance) in enumerate(merges) if distance > threshold), n - 1)
    if num_speakers is not None or not low <= counts[level] <= high:
        target = num_speakers if num_speakers is not None else min(max(counts[level], low), high)
        fits = [k for k, count in enumerate(counts) if count == target]
        # The most merged level with the wanted number of large clusters; failing that (fewer local
        # speakers than wanted), the closest count.
        level = fits[-1] if fits else min(range(n), key=lambda k: (abs(counts[k] - target), -k))
    return _groups(units, weights, merges[:level], big if max(large) > 0 else 0.0)


def _groups(
    units: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    merges: Sequence[tuple[int, int, float]],
    big: float,
) -> list[int]:
    """Cluster of each item after ``merges``, small clusters joined to the nearest large one."""
    n = units.shape[0]
    root = list(range(n))
    for kept, absorbed, _ in merges:
        for i in range(n):
            if root[i] == absorbed:
                root[i] = kept
    heads = sorted(set(root))
    members = {h: [i for i in range(n) if root[i] == h] for h in heads}
    mass = {h: float(weights[members[h]].sum()) for h in heads}
    mean = {h: units[members[h]].T @ weights[members[h]] / mass[h] for h in heads}
    large = [h for h in heads if mass[h] >= big] or heads
    for h in heads:
        if h not in large:
            nearest = min(large, key=lambda g: (float(((mean[h] - mean[g]) ** 2).sum()), g))
            for i in members[h]:
                root[i] = nearest
    order = list(dict.fromkeys(root))
    return [order.index(r) for r in root]
