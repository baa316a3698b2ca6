"""Words → speakers → utterances, on hand-made turns (no model)."""

from __future__ import annotations

from typing import Any

from agentflow.speech.attribution import Utterance, attribute, clip_to_speech, speaker_of, speech_regions


def word(start: float, end: float, text: str, channel: int = 0) -> dict[str, Any]:
    return {"start": start, "end": end, "word": f" {text}", "probability": 0.9, "channel": channel}


def turn(start: float, end: float, speaker: str) -> dict[str, Any]:
    return {"start": start, "end": end, "speaker": speaker}


# GIVEN two speakers with a gap (2.0-2.5), an overlap (4.0-4.5) and a change at 6.0
TURNS = [
    turn(0.0, 2.0, "SPEAKER_01"),
    turn(2.5, 4.5, "SPEAKER_00"),
    turn(4.0, 6.0, "SPEAKER_01"),
    turn(6.0, 8.0, "SPEAKER_00"),
]


def test_word_goes_to_the_turn_it_overlaps_most() -> None:
    # a word spanning the change at 6.0: 0.1 s before, 0.3 s after
    assert speaker_of(5.9, 6.3, TURNS) == "SPEAKER_00"
    # a word inside the overlap region 4.0-4.5, more of it in the later turn
    assert speaker_of(4.3, 4.9, TURNS) == "SPEAKER_01"
    assert speaker_of(3.9, 4.2, TURNS) == "SPEAKER_00"


def test_word_in_a_gap_goes_to_the_nearest_turn() -> None:
    assert speaker_of(2.05, 2.15, TURNS) == "SPEAKER_01"  # 0.05 s after the first turn
    assert speaker_of(2.35, 2.45, TURNS) == "SPEAKER_00"  # 0.05 s before the second
    assert speaker_of(9.0, 9.5, TURNS) == "SPEAKER_00"  # after everything
    assert speaker_of(1.0, 1.2, []) is None


def test_utterances_group_consecutive_words_and_name_speakers_in_order() -> None:
    words = [
        word(6.1, 6.4, "fine."),  # out of order on purpose
        word(0.1, 0.4, "Hello"),
        word(0.5, 0.9, "there."),
        word(1.3, 1.9, "Um,"),
        word(2.6, 3.0, "Hi,"),
        word(3.1, 3.6, "how"),
        word(4.6, 5.0, "Good,"),
        word(5.1, 5.5, "and"),
        word(5.9, 6.05, "you?"),  # spans the change, mostly before it
    ]
    utterances = attribute(words, TURNS)
    # Each utterance spans its speaker's turn around its words (the speech), not just the words.
    assert [u.to_dict() for u in utterances] == [
        {"id": "u1", "speaker": "Speaker 1", "start": 0.0, "end": 2.0, "text": "Hello there. Um,"},
        {"id": "u2", "speaker": "Speaker 2", "start": 2.5, "end": 4.5, "text": "Hi, how"},
        # "you?" spans the change at 6.0: it is cut to its speaker's turn
        {"id": "u3", "speaker": "Speaker 1", "start": 4.0, "end": 6.0, "text": "Good, and you?"},
        {"id": "u4", "speaker": "Speaker 2", "start": 6.0, "end": 8.0, "text": "fine."},
    ]
    # Speaker numbers follow first appearance, not the raw label's number.
    assert utterances[0].speaker == "Speaker 1"


def test_no_word_spans_silence() -> None:
    # GIVEN whisper stretched the first word after a pause back over 9 s of silence
    turns = [turn(0.0, 1.0, "A"), turn(10.0, 11.0, "A")]
    words = [word(0.2, 0.8, "Right."), word(1.0, 10.4, "So"), word(10.5, 10.9, "anyway")]
    # WHEN attributed
    utterances = attribute(words, turns)
    # THEN the word is cut to the speech that holds most of it, and the 9 s pause ends the utterance
    assert [(u.start, u.end, u.text) for u in utterances] == [(0.0, 1.0, "Right."), (10.0, 11.0, "So anyway")]
    assert clip_to_speech(1.0, 10.4, speech_regions(turns)) == (10.0, 10.4)
    # a word where the diarization heard nobody is kept as it is (speech it missed)
    assert clip_to_speech(5.0, 5.5, speech_regions(turns)) == (5.0, 5.5)


def test_an_utterance_ends_at_a_long_pause_of_its_speaker_only() -> None:
    # GIVEN one speaker with a 0.8 s pause and then a 1.5 s pause between turns
    turns = [turn(0.0, 1.0, "A"), turn(1.8, 3.0, "A"), turn(4.5, 5.0, "A")]
    words = [word(0.1, 0.9, "one"), word(1.9, 2.9, "two"), word(4.6, 4.9, "three")]
    # THEN the short pause stays inside the utterance, the long one ends it
    assert [u.text for u in attribute(words, turns)] == ["one two", "three"]
    assert [u.text for u in attribute(words, turns, pause=2.0)] == ["one two three"]
    # a gap in the words where the diarization says the speaker goes on talking is no pause
    long_turn = [turn(0.0, 5.0, "A")]
    assert [u.text for u in attribute(words, long_turn)] == ["one two three"]
    # without turns, pauses between words decide
    assert [u.text for u in attribute(words, [])] == ["one two", "three"]


def test_exclusive_turns_decide_who_and_overlapping_turns_where() -> None:
    # GIVEN B talks over the end of A's turn; the exclusive view hands 2.0-2.5 to B
    speech = [turn(0.0, 2.5, "A"), turn(2.0, 4.0, "B")]
    exclusive = [turn(0.0, 2.0, "A"), turn(2.0, 4.0, "B")]
    words = [word(0.2, 1.0, "yes"), word(1.05, 2.2, "right"), word(2.3, 3.5, "okay")]
    utterances = attribute(words, exclusive, speech=speech)
    assert [(u.speaker, u.start, u.end, u.text) for u in utterances] == [
        ("Speaker 1", 0.0, 2.5, "yes right"),
        ("Speaker 2", 2.0, 4.0, "okay"),
    ]


def test_names_replace_labels_and_unknown_labels_stay_numbered() -> None:
    words = [word(0.1, 0.4, "Hello"), word(2.6, 3.0, "Hi"), word(6.2, 6.5, "Bye")]
    turns = [*TURNS, turn(10.0, 11.0, "SPEAKER_02")]
    words.append(word(10.2, 10.5, "Who?"))
    named = attribute(words, turns, names={"SPEAKER_01": "Ada (host)", "SPEAKER_00": "Bo (client)"})
    assert [(u.speaker, u.text) for u in named] == [
        ("Ada (host)", "Hello"),
        ("Bo (client)", "Hi"),  # Bo is silent 4.5-6.0 s: a pause longer than a second
        ("Bo (client)", "Bye"),
        ("Speaker 1", "Who?"),
    ]


def test_words_without_leading_space_and_empty_inputs() -> None:
    words = [{"start": 0.0, "end": 0.3, "word": "one"}, {"start": 0.4, "end": 0.6, "word": "two"}]
    assert attribute(words, [turn(0.0, 1.0, "A")]) == [
        Utterance(id="u1", speaker="Speaker 1", start=0.0, end=1.0, text="one two")
    ]
    assert attribute([], TURNS) == []
    # no turns at all: every word to one unnamed speaker
    assert [u.speaker for u in attribute(words, [])] == ["Speaker 1"]


def test_a_word_straddling_a_change_of_speaker_stays_within_its_speakers_turn() -> None:
    # GIVEN a change of speaker at 6.0 and a word over it, most of it after the change
    turns = [turn(4.0, 6.0, "SPEAKER_01"), turn(6.0, 8.0, "SPEAKER_00")]
    words = [word(4.2, 5.8, "before"), word(5.7, 6.4, "across"), word(6.5, 7.5, "after")]
    # WHEN the words are attributed
    utterances = attribute(words, turns)
    # THEN the straddling word goes with the later speaker and no utterance crosses the change
    assert [(u.speaker, u.text) for u in utterances] == [
        ("Speaker 1", "before"),
        ("Speaker 2", "across after"),
    ]
    assert utterances[0].end <= 6.0 <= utterances[1].start


def test_an_utterance_reaches_beyond_its_words_only_while_a_voice_is_heard() -> None:
    # GIVEN the diarization gives B 2.0-5.0 s, but B's voice is heard only from 3.0 s: the speech
    # segmentation found at 2.0-3.0 s is a silence after A's turn, longer than a pause
    turns = [turn(0.0, 2.0, "A"), turn(2.0, 5.0, "B")]
    words = [word(0.3, 1.7, "question?"), word(3.4, 4.2, "answer.")]
    voice = [{"start": 0.2, "end": 1.8}, {"start": 3.1, "end": 4.6}]
    # WHEN attributed with and without the voice activity
    heard = attribute(words, turns, voice=voice)
    assumed = attribute(words, turns)
    # THEN without it each utterance spans its speaker's whole speech; with it, only as far from
    # its words as the voice goes on, and never less than its words
    assert [(u.start, u.end) for u in assumed] == [(0.0, 2.0), (2.0, 5.0)]
    assert [(u.start, u.end) for u in heard] == [(0.2, 1.8), (3.1, 4.6)]
    # a voice's own short pause (0.5 s, under PAUSE_SECONDS) does not stop it
    broken = [{"start": 0.2, "end": 1.8}, {"start": 2.9, "end": 3.0}, {"start": 3.5, "end": 4.6}]
    assert [(u.start, u.end) for u in attribute(words, turns, voice=broken)][1] == (2.9, 4.6)
    # a word edge where no voice is heard: the utterance keeps to its words there
    assert [(u.start, u.end) for u in attribute(words, turns, voice=[{"start": 3.5, "end": 4.1}])] == [
        (0.3, 1.7),
        (3.4, 4.2),
    ]
