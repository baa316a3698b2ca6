"""Naming diarized speakers after the session's participants from what they say (no model)."""

from __future__ import annotations

from typing import Any

from agentflow.speech.naming import MIN_CONFIDENCE, name_keys, name_speakers, name_utterances


def said(speaker: str, text: str) -> dict[str, Any]:
    return {"speaker": speaker, "text": text, "start": 0.0, "end": 1.0}


def test_self_introductions_name_both_speakers() -> None:
    # GIVEN the opening of sample.wav as whisper writes it, host Diane and client Sheila
    talk = [
        said("Speaker 1", "Hello. Oh, hello. I didn't know you were there."),
        said("Speaker 2", "Neither did I."),
        said("Speaker 1", "Okay, I heard a beep. This is Diane in New Jersey."),
        said("Speaker 2", "And I'm Sheila in Texas, originally from Chicago."),
    ]
    names = name_speakers(talk, host="Diane Miller", client="Sheila Brown")
    assert {label: (n.name, n.role, n.method) for label, n in names.items()} == {
        "Speaker 1": ("Diane Miller", "host", "conversation"),
        "Speaker 2": ("Sheila Brown", "client", "conversation"),
    }
    # two introductions: (2 + 2 + 1) / (4 + 2)
    assert names["Speaker 1"].confidence == 5 / 6
    # the same talk with the roles swapped names the same voices
    swapped = name_speakers(talk, host="Sheila Brown", client="Diane Miller")
    assert swapped["Speaker 1"].name == "Diane Miller" and swapped["Speaker 1"].role == "client"


def test_being_addressed_names_the_other_speaker() -> None:
    talk = [
        said("Speaker 1", "Hi Tom, thanks for joining."),
        said("Speaker 2", "Sure. Morning, Priya."),
        said("Speaker 1", "I'll send the contract."),
    ]
    names = name_speakers(talk, host="Priya Nair", client="Tom Becker")
    assert names["Speaker 1"].name == "Priya Nair" and names["Speaker 2"].name == "Tom Becker"
    assert names["Speaker 1"].confidence == 0.75


def test_one_cue_is_not_enough_and_contradictions_stay_unknown() -> None:
    one = name_speakers(
        [said("Speaker 1", "Thanks, Grace."), said("Speaker 2", "Sure.")], host="Ada", client="Grace"
    )
    assert one["Speaker 1"].confidence is not None and one["Speaker 1"].confidence < MIN_CONFIDENCE
    assert {n.name for n in one.values()} == {"Speaker 1", "Speaker 2"}
    assert {n.method for n in one.values()} == {"unknown"}
    # both speakers claim to be Ada
    both = [said("Speaker 1", "I'm Ada."), said("Speaker 2", "This is Ada.")]
    assert {n.method for n in name_speakers(both, host="Ada", client="Grace").values()} == {"unknown"}
    # no cue at all
    quiet = name_speakers([said("Speaker 1", "Hello."), said("Speaker 2", "Hi.")], host="Ada", client="Grace")
    assert [n.confidence for n in quiet.values()] == [None, None]


def test_more_than_two_voices_are_not_named() -> None:
    talk = [said("Speaker 1", "I'm Ada."), said("Speaker 2", "I'm Grace."), said("Speaker 3", "Hi Ada.")]
    assert {n.method for n in name_speakers(talk, host="Ada", client="Grace").values()} == {"unknown"}


def test_a_single_voice_can_be_named() -> None:
    names = name_speakers(
        [said("Speaker 1", "My name is Ada Lovelace. Grace could not come.")],
        host="Ada Lovelace",
        client="Grace Hopper",
    )
    # intro (2) for Ada, the mention of Grace (1) also says Speaker 1 is not Grace
    assert names["Speaker 1"].name == "Ada Lovelace" and names["Speaker 1"].confidence == 0.8


def test_name_keys_skip_titles_and_shared_words() -> None:
    keys = name_keys([{"name": "Dr. Helen Chen"}, {"name": "Sam Chen"}])
    assert keys == {
        "helen chen": "Dr. Helen Chen",
        "helen": "Dr. Helen Chen",
        "sam chen": "Sam Chen",
        "sam": "Sam Chen",
    }
    # "I'm Dr. Chen" would be ambiguous here; with a unique surname it is an introduction
    names = name_speakers(
        [said("Speaker 1", "Hi, I'm Dr. Chen."), said("Speaker 2", "Hello.")],
        host="Dr. Helen Chen",
        client="Sam Patel",
    )
    assert names["Speaker 1"].name == "Dr. Helen Chen"
    # a name inside another word is no mention
    assert (
        name_speakers(
            [said("Speaker 1", "Samples are in."), said("Speaker 2", "Good.")], host="Ada", client="Sam"
        )["Speaker 1"].confidence
        is None
    )


def test_name_utterances_renames_in_place_and_lists_participants() -> None:
    talk = [said("Speaker 1", "Hi Tom."), said("Speaker 2", "Hi Priya."), said("Speaker 1", "Shall we?")]
    utterances, participants = name_utterances(talk, host="Priya Nair", client="Tom Becker")
    assert [u["speaker"] for u in utterances] == ["Priya Nair", "Tom Becker", "Priya Nair"]
    assert participants == [
        {"name": "Priya Nair", "role": "host", "naming": "conversation", "naming_confidence": 0.75},
        {"name": "Tom Becker", "role": "client", "naming": "conversation", "naming_confidence": 0.75},
    ]
