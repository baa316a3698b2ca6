"""Resegmentation: who speaks each tenth of a second, by speaker embedding, within the speech found.

pyannote's pipeline decides who speaks where from its segmentation model's local tracks: a 10 s
window's track is one speaker, and the clustering names whole (sliced) tracks. Where the model
keeps the end of one voice on the next voice's track, or gives one track a short reply (dev01: the
last 0.7 s of MEE012's "all I see is the desk top" and her "What's the username?" went to MEE009),
no clustering can undo it. Here every cell (:data:`CELL` seconds) of speech gets a short-window
speaker embedding, scored against each speaker's centroid (the mean of the windows that lie in that
speaker's own exclusive speech), and a Viterbi pass with a switching cost picks one speaker per cell.
Only *who* changes: the speech regions (where anybody speaks) and the overlap the segmentation found
are kept. The idea is the resegmentation step of VBx-style systems (Landini et al. 2022, "Bayesian
HMM clustering of x-vector sequences (VBx) in speaker diarization"), without the PLDA CAM++ lacks.

numpy only; the embeddings come from :mod:`agentflow.speech.diarize`. The chunk job runs it among its
local speakers; the fan-in (:mod:`agentflow.speech.chunked`) once more, among the recording's people.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agentflow.speech.diarization import Turn

# Seconds per decision cell. Chosen with WINDOW and SWITCH_COST on sample, dev00 and dev01 together
# (docs/DIARIZATION.md, "Resegmentation"): DER is flat for windows 0.6-1.0 s and costs 0.1-0.3, and
# worse beyond (1.5 s windows blur short replies: sample's 0.8 s "Hello." is lost).
CELL = 0.1
# Seconds of speech around a cell's centre pooled into its embedding.
WINDOW = 1.0
# Summed cosine advantage (over cells) the other speaker needs before the path switches to them.
SWITCH_COST = 0.3
# A window trains its speaker's centroid when at least this fraction of it is that speaker alone.
CENTROID_PURITY = 0.5

_JOIN = 1e-3  # s: turns of one speaker this close meet (chunk times are rounded to milliseconds)


def cell_masks(
    turns: Sequence[Turn], labels: Sequence[str], cells: int, *, cell: float = CELL
) -> npt.NDArray[np.bool_]:
    """(len(labels), cells) activity of each label on the cell grid (a cell is active when its centre is)."""
    centres = (np.arange(cells) + 0.5) * cell
    masks = np.zeros((len(labels), cells), dtype=bool)
    index = {label: k for k, label in enumerate(labels)}
    for turn in turns:
        if turn.speaker in index:
            masks[index[turn.speaker]] |= (centres >= turn.start) & (centres < turn.end)
    return masks


def centroid_sums(
    embeddings: npt.NDArray[np.floating],
    exclusive: npt.NDArray[np.bool_],
    *,
    window_cells: int,
    purity: float = CENTROID_PURITY,
) -> npt.NDArray[np.float64]:
    """Per speaker, the sum of the unit embeddings of the cells whose window is mostly theirs alone.

    Args:
        embeddings: (cells, dimension) window embeddings, NaN rows where none was made.
        exclusive: (speakers, cells) each speaker's exclusive (one at a time) speech.
        window_cells: cells a window spans.
        purity: fraction of a window that must be the speaker's alone.

    Returns:
        (speakers, dimension); zero rows for a speaker with no such window.
    """
    units = unit(embeddings)
    valid = np.isfinite(units[:, 0])
    kernel = np.ones(window_cells) / window_cells
    out = np.zeros((exclusive.shape[0], units.shape[1]))
    for k, own in enumerate(exclusive):
        share = np.convolve(own.astype(np.float64), kernel, mode="same")
        chosen = own & valid & (share >= purity)
        if chosen.any():
            out[k] = units[chosen].sum(axis=0)
    return out


def centroids(
    embeddings: npt.NDArray[np.floating],
    exclusive: npt.NDArray[np.bool_],
    *,
    window_cells: int,
    purity: float = CENTROID_PURITY,
) -> npt.NDArray[np.float64]:
    """Each speaker's centroid: the mean unit embedding of the cells whose window is mostly theirs alone.

    Args:
        embeddings: (cells, dimension) window embeddings, NaN rows where none was made.
        exclusive: (speakers, cells) each speaker's exclusive (one at a time) speech.
        window_cells: cells a window spans.
        purity: fraction of a window that must be the speaker's alone.

    Returns:
        (speakers, dimension) unit vectors; NaN rows for a speaker with no such window.
    """
    return unit(centroid_sums(embeddings, exclusive, window_cells=window_cells, purity=purity))


def viterbi(
    scores: npt.NDArray[np.float64], active: npt.NDArray[np.bool_], *, switch_cost: float = SWITCH_COST
) -> npt.NDArray[np.int64]:
    """One state per active cell, maximising the summed scores less ``switch_cost`` per change.

    Inactive cells are skipped (a pause neither costs nor resets a change).

    Args:
        scores: (cells, states) score of each state in each cell.
        active: (cells,) cells to decode.
        switch_cost: cost of a change of state between consecutive active cells.

    Returns:
        (cells,) the state per cell, -1 where inactive.
    """
    path = np.full(scores.shape[0], -1, dtype=np.int64)
    positions = np.flatnonzero(active)
    if positions.size == 0:
        return path
    states = scores.shape[1]
    cost = switch_cost * (1.0 - np.eye(states))
    delta = scores[positions[0]].astype(np.float64).copy()
    back = np.zeros((positions.size, states), dtype=np.int64)
    for step, cell in enumerate(positions[1:], start=1):
        moves = delta[:, None] - cost  # (from, to)
        back[step] = moves.argmax(axis=0)
        delta = moves.max(axis=0) + scores[cell]
    state = int(delta.argmax())
    decoded = np.empty(positions.size, dtype=np.int64)
    for step in range(positions.size - 1, -1, -1):
        decoded[step] = state
        state = int(back[step, state])
    path[positions] = decoded
    return path


def resegment(
    turns: Sequence[Turn],
    exclusive: Sequence[Turn],
    labels: Sequence[str],
    embeddings: npt.NDArray[np.floating],
    *,
    window_cells: int,
    cell: float = CELL,
    switch_cost: float = SWITCH_COST,
    centres: npt.NDArray[np.float64] | None = None,
) -> tuple[list[Turn], list[Turn]]:
    """Re-decide who speaks each cell of speech; keep where speech is and the overlap found.

    Args:
        turns: the pipeline's turns (may overlap).
        exclusive: its one-speaker-at-a-time view, same labels.
        labels: the speakers, in a fixed order.
        embeddings: (cells, dimension) one window embedding per cell of ``cell`` seconds from 0;
            NaN rows where the window holds no speech.
        window_cells: cells a window spans (for the centroids' purity test).
        cell: seconds per cell.
        switch_cost: see :func:`viterbi`.
        centres: (len(labels), dimension) unit centroids to score against, NaN rows for none;
            default: :func:`centroids` of these cells (the merge passes the recording's).

    Returns:
        (turns, exclusive): the exclusive view is the decoded speaker within the exclusive view's
        own speech; the turns add, where the pipeline had two or more speakers at once, those
        speakers too. Unchanged when fewer than two speakers have a centroid.
    """
    cells = embeddings.shape[0]
    own = cell_masks(exclusive, labels, cells, cell=cell)
    if centres is None:
        centres = centroids(embeddings, own, window_cells=window_cells)
    usable = [k for k in range(len(labels)) if np.isfinite(centres[k, 0])]
    if len(usable) < 2:
        return list(turns), list(exclusive)
    units = unit(embeddings)
    valid = np.isfinite(units[:, 0])
    scores = np.where(valid[:, None], np.nan_to_num(units) @ centres[usable].T, 0.0)
    # A cell without an embedding keeps its speaker: a bonus no cosine can beat.
    kept = own[usable].T & ~valid[:, None]
    scores = scores + 2.0 * kept
    speech = np.asarray(own.any(axis=0), dtype=np.bool_)
    path = viterbi(scores, speech, switch_cost=switch_cost)
    decided = np.full(cells, -1, dtype=np.int64)
    decided[speech] = np.asarray(usable)[path[speech]]
    # A speaker without a centroid keeps its exclusive cells.
    for k in range(len(labels)):
        if k not in usable:
            decided[own[k]] = k
    new_exclusive = _retimed(exclusive, decided, labels, cell)
    overlap = cell_masks(turns, labels, cells, cell=cell)
    several = overlap.sum(axis=0) >= 2
    extra = [_cells_turns(overlap[k] & several & (decided != k), labels[k], cell) for k in range(len(labels))]
    new_turns = join_turns([*new_exclusive, *[t for group in extra for t in group]])
    return new_turns, new_exclusive


def join_turns(turns: Sequence[Turn]) -> list[Turn]:
    """One speaker's turns that overlap or meet (within a millisecond) become one; sorted by start."""
    out: list[Turn] = []
    for speaker in sorted({t.speaker for t in turns}):
        current: Turn | None = None
        for turn in sorted((t for t in turns if t.speaker == speaker), key=lambda t: (t.start, t.end)):
            if current is not None and turn.start <= current.end + _JOIN:
                current = Turn(current.start, max(current.end, turn.end), speaker)
            else:
                if current is not None:
                    out.append(current)
                current = turn
        if current is not None:
            out.append(current)
    return sorted(out, key=lambda t: (t.start, t.end, t.speaker))


def unit(vectors: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """(n, dimension) each row scaled to unit length; NaN rows for zero or NaN rows."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        units: npt.NDArray[np.float64] = np.asarray(vectors, dtype=np.float64) / norms
    return units


def _retimed(
    exclusive: Sequence[Turn], decided: npt.NDArray[np.int64], labels: Sequence[str], cell: float
) -> list[Turn]:
    """The exclusive turns' own spans, cut where the decided speaker changes (at cell edges)."""
    out: list[Turn] = []
    cells = decided.shape[0]
    for turn in sorted(exclusive, key=lambda t: t.start):
        first = max(0, min(cells - 1, int(np.floor(turn.start / cell))))
        last = max(first, min(cells - 1, int(np.ceil(turn.end / cell)) - 1))
        start = turn.start
        for index in range(first, last + 1):
            speaker = labels[decided[index]] if decided[index] >= 0 else turn.speaker
            nxt = index + 1
            following = (labels[decided[nxt]] if decided[nxt] >= 0 else turn.speaker) if nxt <= last else None
            if following != speaker:
                end = turn.end if following is None else nxt * cell
                if end > start:
                    out.append(Turn(start, end, speaker))
                start = end
    return join_turns(out)


def _cells_turns(mask: npt.NDArray[np.bool_], label: str, cell: float) -> list[Turn]:
    out: list[Turn] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        out.append(Turn(start * cell, end * cell, label))
    return out
