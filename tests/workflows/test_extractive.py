"""The offline extractive provider on the reference transcripts and on meetings it was not built on.

A reference item counts as found when the most similar summary item (all-MiniLM-L6-v2 cosine,
one-to-one) is clearly the best match and, for action items, has the reference owner. Wording may
differ ("sixty forty" for "60/40"), so the bar is relative, not a fixed similarity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from agentflow.workflows import run_summary, validate_summary
from agentflow.workflows.providers.extractive import default_embed
from agentflow.workflows.providers.minilm import load_minilm, model_dir

from .conftest import Transcript, participants_of

MIN_SIMILARITY = 0.3
MIN_MARGIN = 0.1


def summarise(transcript: Transcript, **kwargs: Any) -> dict[str, Any]:
    utterances = transcript["utterances"]
    return run_summary(
        utterances=utterances,
        participants=participants_of(transcript),
        language=transcript.get("language", "en"),
        duration=utterances[-1]["end"] if utterances else 0.0,
        **kwargs,
    )


def best_matches(references: list[str], items: list[str]) -> list[int | None]:
    """For each reference, the index of its clearly-best item (or None), each item used once."""
    if not items:
        return [None] * len(references)
    ref = default_embed(references)
    ours = default_embed(items)
    sims = ref @ ours.T
    found: list[int | None] = []
    used: set[int] = set()
    for row in sims:
        order = [int(i) for i in np.argsort(-row) if int(i) not in used]
        if not order or row[order[0]] < MIN_SIMILARITY:
            found.append(None)
            continue
        runner_up = row[order[1]] if len(order) > 1 else -1.0
        if row[order[0]] - runner_up < MIN_MARGIN:
            found.append(None)
            continue
        used.add(order[0])
        found.append(order[0])
    return found


def test_finds_every_reference_decision_and_action_item_with_its_owner(transcripts: list[Transcript]) -> None:
    for transcript in transcripts:
        # GIVEN a reference transcript  WHEN the default workflow summarises it offline
        summary = summarise(transcript)
        reference = transcript["reference"]
        name = transcript["name"]
        # THEN every reference action item has a clearly matching item with the same owner
        actions = summary["action_items"]
        matches = best_matches([a["task"] for a in reference["action_items"]], [a["text"] for a in actions])
        for ref, match in zip(reference["action_items"], matches, strict=True):
            assert match is not None, f"{name}: no action item for {ref['task']!r} in {actions}"
            assert actions[match]["owner"] == ref["owner"], f"{name}: {ref['task']!r} -> {actions[match]}"
            if ref["due"]:
                assert actions[match]["due"], f"{name}: {ref['task']!r} lost its due date ({ref['due']!r})"
        # AND every reference decision has a clearly matching decision
        decisions = [d["text"] for d in summary["decisions"]]
        for ref_decision, match in zip(
            reference["decisions"], best_matches(reference["decisions"], decisions), strict=True
        ):
            assert match is not None, f"{name}: no decision for {ref_decision!r} in {decisions}"
        # AND every open question
        questions = [q["text"] for q in summary["open_questions"]]
        for ref_question, match in zip(
            reference["open_questions"], best_matches(reference["open_questions"], questions), strict=True
        ):
            assert match is not None, f"{name}: no open question for {ref_question!r} in {questions}"
        # AND the summary is grounded, names only speakers, and is not padded with extras
        validate_summary(summary)
        assert len(actions) <= len(reference["action_items"]) + 2
        assert summary["provider"] == "extractive" and summary["fallback_used"] is False


def test_due_dates_are_read_from_the_text(transcripts: list[Transcript]) -> None:
    by_name = {t["name"]: t for t in transcripts}
    if "advisor-review" not in by_name:
        pytest.fail("advisor-review transcript missing")
    summary = summarise(by_name["advisor-review"])
    assert sorted(a["due"] for a in summary["action_items"]) == ["Friday", "early June", "next Monday"]


UNSEEN = {
    "participants": {"host": "Speaker 1", "client": "Speaker 2"},
    "language": "en",
    "utterances": [
        {"id": "a1", "speaker": "Speaker 1", "start": 0, "end": 5,
         "text": "Thanks for hopping on. I want to go over the website redesign and the launch date."},
        {"id": "a2", "speaker": "Speaker 2", "start": 5, "end": 10,
         "text": "Sure. We reviewed the two mockups with the marketing team last week."},
        {"id": "a3", "speaker": "Speaker 1", "start": 10, "end": 15, "text": "Which one did they prefer?"},
        {"id": "a4", "speaker": "Speaker 2", "start": 15, "end": 22,
         "text": "Most people liked the blue design. So we decided to go with the blue design for the homepage."},
        {"id": "a5", "speaker": "Speaker 1", "start": 22, "end": 30,
         "text": "Good choice. I can have the final assets ready by Thursday. "
                 "Can you get me the copy for the landing page by end of day tomorrow?"},
        {"id": "a6", "speaker": "Speaker 2", "start": 30, "end": 34, "text": "No problem, you'll have it tomorrow."},
        {"id": "a7", "speaker": "Speaker 1", "start": 34, "end": 42,
         "text": "What about the launch? How about we push it to the fifteenth of May to leave time for testing?"},
        {"id": "a8", "speaker": "Speaker 2", "start": 42, "end": 46, "text": "That works for me. The fifteenth it is."},
        {"id": "a9", "speaker": "Speaker 1", "start": 46, "end": 52,
         "text": "Great. Remember to send the press list to Dana before the launch."},
        {"id": "a10", "speaker": "Speaker 2", "start": 52, "end": 58,
         "text": "Will do. We still need to figure out whether we need a French version of the site."},
        {"id": "a11", "speaker": "Speaker 1", "start": 58, "end": 62, "text": "Let's revisit that after launch. Talk soon."},
    ],
}  # fmt: skip


def test_unseen_meeting_with_unnamed_speakers() -> None:
    # GIVEN a meeting written apart from the references, speakers only labelled by diarization
    summary = summarise(UNSEEN)
    actions = summary["action_items"]
    owners = {a["text"]: a["owner"] for a in actions}
    matches = best_matches(
        ["have the final assets ready", "send the landing page copy", "send the press list to Dana"],
        [a["text"] for a in actions],
    )
    # THEN offers with a date, requests and reminders become action items of the right person
    assert [actions[m]["owner"] if m is not None else None for m in matches] == [
        "Speaker 1",
        "Speaker 2",
        "Speaker 2",
    ], owners
    assert {a["due"] for a in actions} >= {"Thursday", "end of day tomorrow"}
    # AND an explicit decision and an accepted proposal are decisions
    decisions = [d["text"] for d in summary["decisions"]]
    assert None not in best_matches(["use the blue homepage design", "launch on May 15"], decisions), (
        decisions
    )
    # AND a deferred question stays open
    assert best_matches(["French version of the site"], [q["text"] for q in summary["open_questions"]]) != [
        None
    ]
    validate_summary(summary)


def test_other_languages_get_key_points_but_no_english_cue_matching() -> None:
    utterances = [
        {"id": "u1", "speaker": "Ana", "start": 0, "end": 4,
         "text": "Buenos días, hoy revisamos el presupuesto del proyecto y el calendario de entregas."},
        {"id": "u2", "speaker": "Luis", "start": 4, "end": 9,
         "text": "Perfecto, el presupuesto está aprobado por la dirección financiera de la empresa."},
    ]  # fmt: skip
    summary = run_summary(
        utterances=utterances, participants=[{"name": "Ana"}, {"name": "Luis"}], language="es", duration=9
    )
    assert summary["key_points"] and summary["action_items"] == [] and summary["decisions"] == []
    validate_summary(summary)


def test_a_transcript_of_only_short_sentences_still_gets_a_valid_summary() -> None:
    # GIVEN a recording in which only a word or two were said
    utterances = [
        {"id": "u1", "speaker": "Speaker 1", "start": 2.2, "end": 2.6, "text": "Okay."},
        {"id": "u2", "speaker": "Speaker 2", "start": 3.0, "end": 3.5, "text": "Thanks, bye."},
    ]
    # WHEN it is summarised offline
    summary = run_summary(utterances=utterances, participants=[], language="en", duration=4.0)
    # THEN what was said is the key point, citing its utterance, and the summary is valid (not FAILED)
    assert summary["key_points"], summary
    assert {s for k in summary["key_points"] for s in k["sources"]} <= {"u1", "u2"}
    validate_summary(summary)


@pytest.mark.slow
def test_numpy_minilm_matches_sentence_transformers() -> None:
    # GIVEN the same wheel's model loaded by sentence-transformers (torch) and by our numpy port
    from sentence_transformers import SentenceTransformer

    texts = [
        "I'll send you the risk profile questionnaire by Friday.",
        "Hello",
        "Could you upload last year's tax return to the client portal? That helps me plan the bond purchases.",
    ]
    reference = SentenceTransformer(str(model_dir()), device="cpu").encode(texts, normalize_embeddings=True)
    ours = load_minilm().encode(texts)
    # THEN the vectors agree to float32 rounding
    assert ours.shape == (3, 384)
    assert float(np.abs(ours - reference).max()) < 1e-4
