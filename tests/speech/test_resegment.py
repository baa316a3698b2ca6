"""Resegmentation on hand-made embeddings (no model): who speaks each cell, by centroid and Viterbi."""

from __future__ import annotations

import numpy as np
import pytest
from agentflow.speech.diarization import Turn
from agentflow.speech.resegment import CELL, centroids, resegment, viterbi

VOICE_A = np.array([1.0, 0.0, 0.0])
VOICE_B = np.array([0.0, 1.0, 0.0])


def cells_of(*spans: tuple[float, float, np.ndarray], total: float, noise: float = 0.0) -> np.ndarray:
    """(cells, 3) embeddings: each span's voice, NaN outside every span."""
    rng = np.random.default_rng(0)
    out = np.full((round(total / CELL), 3), np.nan)
    for start, end, voice in spans:
        out[round(start / CELL) : round(end / CELL)] = voice
    return out + noise * rng.standard_normal(out.shape)


def test_the_change_of_speaker_moves_to_where_the_voices_change() -> None:
    # GIVEN voice A over 0-3 s and voice B over 3-6 s, but the pipeline put its change at 2.0 s
    embeddings = cells_of((0.0, 3.0, VOICE_A), (3.0, 6.0, VOICE_B), total=6.0, noise=0.1)
    turns = [Turn(0.0, 2.0, "A"), Turn(2.0, 6.0, "B")]
    # WHEN the cells are resegmented
    new_turns, exclusive = resegment(turns, turns, ["A", "B"], embeddings, window_cells=10)
    # THEN the change is at 3.0 s and the speech still spans 0-6 s
    assert [(t.speaker, t.start, t.end) for t in exclusive] == [
        ("A", 0.0, pytest.approx(3.0)),
        ("B", pytest.approx(3.0), 6.0),
    ]
    assert new_turns == exclusive


def test_a_short_reply_inside_a_turn_gets_its_own_speaker() -> None:
    # GIVEN B's 1 s reply at 4-5 s inside a turn the pipeline gave A whole
    embeddings = cells_of(
        (0.0, 4.0, VOICE_A), (4.0, 5.0, VOICE_B), (5.0, 8.0, VOICE_A), (9.0, 12.0, VOICE_B), total=12.0
    )
    turns = [Turn(0.0, 8.0, "A"), Turn(9.0, 12.0, "B")]
    _, exclusive = resegment(turns, turns, ["A", "B"], embeddings, window_cells=10)
    # THEN the reply is B's; where nobody speaks (8-9 s) stays silent
    assert [(t.speaker, round(t.start, 3), round(t.end, 3)) for t in exclusive] == [
        ("A", 0.0, 4.0),
        ("B", 4.0, 5.0),
        ("A", 5.0, 8.0),
        ("B", 9.0, 12.0),
    ]


def test_overlap_found_by_the_pipeline_is_kept() -> None:
    # GIVEN A and B at once over 2-3 s (the pipeline's overlap), A's voice dominating there
    embeddings = cells_of((0.0, 3.0, VOICE_A), (3.0, 6.0, VOICE_B), total=6.0)
    turns = [Turn(0.0, 3.0, "A"), Turn(2.0, 6.0, "B")]
    exclusive_in = [Turn(0.0, 2.5, "A"), Turn(2.5, 6.0, "B")]
    new_turns, exclusive = resegment(turns, exclusive_in, ["A", "B"], embeddings, window_cells=10)
    # THEN the exclusive view changes at the voices' change, and both still speak over 2-3 s
    assert [(t.speaker, round(t.start, 3), round(t.end, 3)) for t in exclusive] == [
        ("A", 0.0, 3.0),
        ("B", 3.0, 6.0),
    ]
    assert {(t.speaker, round(t.start, 3), round(t.end, 3)) for t in new_turns} == {
        ("A", 0.0, 3.0),
        ("B", 2.0, 6.0),
    }


def test_one_speaker_or_no_centroid_changes_nothing() -> None:
    embeddings = cells_of((0.0, 2.0, VOICE_A), total=2.0)
    turns = [Turn(0.0, 2.0, "A")]
    assert resegment(turns, turns, ["A"], embeddings, window_cells=10) == (turns, turns)
    # B has speech but no window that is mostly its own: nothing to score against
    turns = [Turn(0.0, 1.9, "A"), Turn(1.9, 2.0, "B")]
    assert resegment(turns, turns, ["A", "B"], embeddings, window_cells=10) == (turns, turns)


def test_centroids_use_only_windows_mostly_of_one_speaker() -> None:
    embeddings = cells_of((0.0, 1.0, VOICE_A), (1.0, 2.0, VOICE_B), total=2.0)
    own = np.zeros((2, 20), dtype=bool)
    own[0, :10] = True
    own[1, 10:] = True
    found = centroids(embeddings, own, window_cells=10, purity=0.8)
    assert np.allclose(found, [VOICE_A, VOICE_B])


def test_viterbi_switches_only_when_the_advantage_outweighs_the_cost() -> None:
    # one cell favours state 1 by 0.2: below a cost of 0.3 the path stays, above it switches
    scores = np.array([[1.0, 0.0], [0.4, 0.6], [1.0, 0.0]])
    active = np.ones(3, dtype=bool)
    assert viterbi(scores, active, switch_cost=0.3).tolist() == [0, 0, 0]
    assert viterbi(scores, active, switch_cost=0.05).tolist() == [0, 1, 0]
    # inactive cells are -1 and do not break the path
    assert viterbi(scores, np.array([True, False, True]), switch_cost=0.3).tolist() == [0, -1, 0]
