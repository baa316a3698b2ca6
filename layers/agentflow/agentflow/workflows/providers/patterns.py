"""English conversational cues for the extractive provider: commitments, requests, decisions, questions.

These are the general shapes people use in meetings ("I'll …", "could you …", "let's …", "we're
agreed", "let's keep that open"), not the wording of any one transcript. Each function looks at one
sentence (or clause) and says what it is, who it binds and when it is due; grouping sentences into
items and confirming weak cues with embeddings happens in ``extractive.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_COUNT = r"\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a couple of|a few"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|tenth|fifteenth|twentieth|thirtieth"
_DUE = (
    r"(?P<due>(?:"
    r"(?:the\s+)?end\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month|quarter|year)"
    rf"|(?:the\s+)?(?:start|beginning|middle)\s+of\s+(?:next|this)\s+(?:week|month|quarter|year)"
    rf"|(?:early|mid|late)[\s-]+(?:{_MONTHS}|next\s+(?:week|month))"
    rf"|(?:{_MONTHS})\s+(?:the\s+)?(?:{_ORDINAL})\b"
    rf"|(?:the\s+)?(?:{_ORDINAL})\s+of\s+(?:{_MONTHS})"
    rf"|(?:this|next|coming)\s+(?:{_DAYS}|week|weekend|month|quarter|year)"
    rf"|(?:{_DAYS})(?:\s+(?:morning|afternoon|evening|night))?"
    r"|today|tonight|tomorrow(?:\s+(?:morning|afternoon|evening))?"
    r"|this\s+(?:morning|afternoon|evening)"
    rf"|within\s+(?:the\s+next\s+)?(?:{_COUNT})\s+(?:business\s+|working\s+)?(?:days?|weeks?|months?|hours?)"
    rf"|in\s+(?:the\s+next\s+)?(?:{_COUNT})\s+(?:business\s+|working\s+)?(?:days?|weeks?|months?|hours?)"
    r"|as\s+soon\s+as\s+possible|asap|end\s+of\s+(?:the\s+)?day|eod"
    r")"
    # "end of day tomorrow", "Friday next week", "Monday morning"
    rf"(?:\s+(?:tomorrow|today|this\s+week|next\s+week|on\s+(?:{_DAYS})|(?:{_DAYS})|morning|afternoon))?)"
)
_DUE_RE = re.compile(rf"\b(?:(?P<prep>by|before|until|no\s+later\s+than|on|for|over)\s+)?{_DUE}\b", re.I)

# Words that may open a sentence without changing what it does ("So, I'll …", "Okay, let's …").
_LEAD = (
    r"(?:(?:and|also|so|then|now|okay|ok|alright|all right|right|great|good|perfect|fine|sure|yes|yeah|yep"
    r"|well|oh|and then|in that case|of course|thanks|thank you|sounds good|no|first|next|finally)[\s,]+)*"
)
_ADVERBS = r"(?:(?:also|just|definitely|then|still|go ahead and|quickly|personally|first|please|both)\s+)*"

_SELF = re.compile(
    rf"\b(?P<modal>i'll|i\s+will|i'm\s+going\s+to|i\s+am\s+going\s+to|i'm\s+gonna|let\s+me|i\s+need\s+to"
    rf"|i\s+have\s+to|i've\s+got\s+to|i\s+must|i\s+promise\s+to|i\s+plan\s+to|i'm\s+planning\s+to"
    rf"|i'd\s+be\s+happy\s+to|i\s+can\s+take\s+care\s+of|i'll\s+take\s+care\s+of)\s+{_ADVERBS}(?P<rest>[a-z].*)",
    re.I,
)
_CAN = re.compile(rf"\b(?:i\s+can|i\s+could|i\s+should\s+be\s+able\s+to)\s+{_ADVERBS}(?P<rest>[a-z].*)", re.I)
_REQUEST = re.compile(
    rf"\b(?P<modal>could\s+you|can\s+you|would\s+you(?:\s+mind)?|will\s+you|please"
    rf"|i'd\s+like\s+you\s+to|i\s+would\s+like\s+you\s+to|i\s+need\s+you\s+to|i\s+want\s+you\s+to"
    rf"|you'll\s+need\s+to|you\s+will\s+need\s+to|you\s+need\s+to|you\s+have\s+to|you\s+must|you\s+should"
    rf"|make\s+sure\s+(?:that\s+)?you|make\s+sure\s+to|don't\s+forget\s+to|remember\s+to|be\s+sure\s+to)"
    rf"\s+{_ADVERBS}(?P<rest>[a-z].*)",
    re.I,
)
_WE = re.compile(
    rf"^{_LEAD}(?P<modal>we'll|we\s+will|we're\s+going\s+to|we\s+are\s+going\s+to|we're\s+gonna)"
    rf"\s+{_ADVERBS}(?P<rest>[a-z].*)",
    re.I,
)
_LETS = re.compile(rf"^{_LEAD}(?P<modal>let's|let\s+us)\s+{_ADVERBS}(?P<rest>[a-z].*)", re.I)
_PROPOSAL = re.compile(
    r"\b(?P<modal>i'd\s+suggest(?:\s+that)?|i\s+would\s+suggest(?:\s+that)?|i\s+suggest(?:\s+that)?"
    r"|i'd\s+recommend|i\s+would\s+recommend|i\s+recommend|i\s+propose|i'd\s+propose"
    r"|my\s+(?:recommendation|suggestion|proposal|advice)\s+(?:would\s+be|is)(?:\s+to)?"
    r"|we\s+could|we\s+can|how\s+about|what\s+if\s+we|i\s+think\s+we\s+should|we\s+should|why\s+don't\s+we"
    r"|one\s+option\s+(?:would\s+be|is)(?:\s+to)?|the\s+plan\s+(?:would\s+be|is)(?:\s+to)?)"
    r"\s+(?P<rest>[a-z].*)",
    re.I,
)
_EXPLICIT_DECISION = re.compile(
    r"\b(?:we(?:'re|\s+are)\s+(?:all\s+)?agreed(?:\s+on|\s+that|\s+to)?|we(?:'ve|\s+have)\s+(?:agreed|decided)"
    r"(?:\s+on|\s+that|\s+to)?|we\s+(?:agreed|decided)(?:\s+on|\s+that|\s+to)?|(?:it's|it\s+is)\s+(?:agreed|decided)"
    r"|the\s+decision\s+is(?:\s+to)?|(?:let's|we'll|we\s+will|we're|we\s+are)\s+go(?:ing)?\s+with"
    r"|we're\s+settled\s+on|that's\s+(?:the\s+plan|settled|decided|agreed)|(?:^|,\s*)agreed\b[,.:]?)",
    re.I,
)
_IT_IS = re.compile(r"^(?P<rest>.+?)\s+it\s+is[.!]?$", re.I)
_OPEN = re.compile(
    r"\b(?:open\s+question|(?:i'm|i\s+am|we're|we\s+are)\s+(?:still\s+)?not\s+sure|(?:don't|do\s+not)\s+know\s+yet"
    r"|(?:haven't|have\s+not)\s+decided|undecided|to\s+be\s+decided|tbd|still\s+need\s+to\s+(?:decide|figure)"
    r"|need\s+to\s+figure\s+out|unresolved|up\s+in\s+the\s+air|remains\s+to\s+be\s+seen|unclear\s+(?:whether|if))\b",
    re.I,
)
_DEFER = re.compile(
    r"\b(?:keep\s+(?:that|this|it)\s+open|leave\s+(?:that|this|it)\s+open|decide\s+(?:later|once|when|after|next)"
    r"|before\s+deciding|before\s+we\s+decide|(?:let's|we'll|we\s+will|we\s+should)\s+wait|park\s+(?:that|this)"
    r"|table\s+(?:that|this)|revisit|come\s+back\s+to\s+(?:that|this|it)|(?:discuss|talk\s+about|look\s+at)"
    r"\s+(?:that|this|it)\s+(?:next\s+time|later|at\s+the\s+next)|(?:not|no)\s+(?:decide|deciding)\s+(?:yet|now)"
    r"|hold\s+off\s+on)\b",
    re.I,
)
_ACCEPT = re.compile(
    r"^(?:(?:okay|ok|yes|yeah|yep|sure|agreed|great|perfect|fine|absolutely|definitely|deal|right|good)\b"
    r"|sounds\s+(?:good|great|fine|sensible|right)|that\s+(?:works|sounds|makes\s+sense|is\s+fine)|works\s+for"
    r"|i\s+agree|makes\s+sense|let's\s+do|will\s+do|of\s+course|that's\s+(?:fine|good|great|perfect))",
    re.I,
)
_FILLER_START = re.compile(rf"^{_LEAD}", re.I)
_TRAILING = re.compile(
    r"(?:[\s,]+(?:then|as\s+well|too|please|okay|ok|right|instead|for\s+now))+[.!?]*$", re.I
)

# Verbs after "I'll"/"could you" that do not make a task: talk inside the meeting, or hedges.
VAGUE_VERBS = frozenset(
    [
        "think",
        "see",
        "be",
        "guess",
        "say",
        "start",
        "begin",
        "explain",
        "show",
        "repeat",
        "summarize",
        "mention",
        "assume",
        "admit",
        "bet",
        "wait",
        "pause",
        "hand",
        "pass",
        "walk",
        "go",
        "come",
        "move",
        "continue",
        "tell",
        "hear",
        "speak",
        "talk",
        "hold",
        "stay",
        "sit",
        "listen",
        "agree",
        "understand",
        "know",
        "mean",
        "remember",
        "imagine",
        "suppose",
        "wonder",
        "feel",
        "hope",
        "need",
        "want",
        "like",
        "love",
        "keep",
    ]
)
# Verbs that can open an imperative instruction ("Send …", "Keep logging …").
IMPERATIVE_VERBS = frozenset(
    [
        "send",
        "book",
        "call",
        "email",
        "schedule",
        "upload",
        "submit",
        "fill",
        "complete",
        "sign",
        "prepare",
        "share",
        "bring",
        "log",
        "track",
        "check",
        "review",
        "update",
        "contact",
        "reach",
        "follow",
        "set",
        "read",
        "write",
        "draft",
        "order",
        "pick",
        "drop",
        "pay",
        "buy",
        "arrange",
        "confirm",
        "forward",
        "register",
        "install",
        "take",
        "avoid",
        "stop",
        "start",
        "continue",
        "keep",
        "remember",
        "make",
        "get",
        "print",
        "file",
        "return",
        "renew",
        "cancel",
        "test",
        "measure",
        "record",
        "note",
        "monitor",
        "download",
        "sort",
        "organize",
        "collect",
        "gather",
        "invite",
        "notify",
        "inform",
        "loop",
        "add",
        "remove",
        "change",
        "move",
        "finish",
        "fix",
        "draft",
        "provide",
        "look",
        "research",
        "reply",
        "respond",
    ]
)
_ANAPHORA = re.compile(r"^\W*(?:\w+\W+){0,3}?(?:it|that|this|them|those|these)\b\W*(?:\w+\W*){0,4}$", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")

Kind = Literal["commit", "request", "imperative", "third_party"]


@dataclass(frozen=True)
class Due:
    """A due date as stated and the span of the sentence it came from."""

    text: str
    start: int
    end: int


def normalise(text: str) -> str:
    """Straight apostrophes and single spaces, so that the patterns match typed and ASR text alike."""
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("‘", "'")).strip()


def find_due(text: str) -> Due | None:
    """The first stated due date in ``text`` (a deadline word such as "by" preferred)."""
    matches = list(_DUE_RE.finditer(text))
    if not matches:
        return None
    best = next((m for m in matches if m.group("prep") and m.group("prep").lower() != "over"), matches[0])
    if best.group("prep") and best.group("prep").lower() == "over":
        return None  # "over the next three months" is a duration, not a deadline
    due = best.group("due")
    return Due(text=re.sub(r"^the\s+", "", due, flags=re.I), start=best.start(), end=best.end())


def strip_due(text: str) -> str:
    """``text`` without its due-date phrase."""
    due = find_due(text)
    if due is None:
        return text
    return (text[: due.start] + text[due.end :]).replace("  ", " ").strip(" ,")


def clean_clause(text: str) -> str:
    """Trim fillers, trailing "then"/"as well" and punctuation; capitalise the first letter."""
    text = _FILLER_START.sub("", text.strip())
    text = _TRAILING.sub("", text).strip(" ,;:-")
    text = text.rstrip(".!?").strip()
    return text[:1].upper() + text[1:] if text else text


def first_word(text: str) -> str:
    """The first word, lower case ("" when there is none)."""
    match = _WORD.search(text)
    return match.group(0).lower() if match else ""


def is_anaphoric(text: str) -> bool:
    """True for short clauses that point back ("let's set that up", "please book it")."""
    return bool(_ANAPHORA.match(text)) and len(_WORD.findall(text)) <= 8


def word_count(text: str) -> int:
    """Number of words."""
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class TaskCue:
    """A clause that makes a task: what kind, the task clause, and who says it binds."""

    kind: Kind
    task: str
    name: str | None = None  # the participant named as doer, for third-party cues


def clauses(sentence: str) -> list[str]:
    """Split a sentence at ", and"/";" so that "Keep logging X, and we'll review Y" gives two clauses."""
    parts = re.split(r";\s*|,\s+(?:and|but)\s+(?=(?:i|we|you|let's|please)\b)", sentence, flags=re.I)
    return [p.strip() for p in parts if p.strip()]


def task_cue(clause: str, participant_names: dict[str, str]) -> TaskCue | None:
    """Classify a clause as a self-commitment, a request, an imperative or a named third party's task.

    Args:
        clause: one clause, normalised.
        participant_names: lower-case name or first name -> participant name.
    """
    text = clause.strip()
    if re.search(r"\b(?:won't|will\s+not|can't|cannot|don't|do\s+not)\b", text.split(",")[0], re.I) and not (
        re.match(r"^\W*(?:don't\s+forget)", text, re.I)
    ):
        negated = True
    else:
        negated = False
    if (m := _SELF.search(text)) and not negated:
        rest = m.group("rest")
        asks_here = re.match(r"^ask\s+(?:you|a|another|one)\b", rest, re.I)
        if first_word(rest) not in VAGUE_VERBS and word_count(rest) >= 2 and not asks_here:
            return TaskCue("commit", rest)
    if (m := _CAN.search(text)) and not negated and find_due(m.group("rest")) is not None:
        # "I can have the draft ready by Thursday": an offer with a date is a commitment.
        return TaskCue("commit", m.group("rest"))
    if (m := _REQUEST.search(text)) and not re.match(r"^(?:don't|do\s+not|not)\b", m.group("rest"), re.I):
        rest = m.group("rest")
        if first_word(rest) not in VAGUE_VERBS and word_count(rest) >= 2:
            return TaskCue("request", rest)
    for key, name in participant_names.items():
        pattern = rf"\b{re.escape(key)}\s+(?:will|is\s+going\s+to|'ll|can|needs\s+to|has\s+to)\s+{_ADVERBS}(?P<rest>[a-z].*)"
        if (m := re.search(pattern, text, re.I)) and first_word(m.group("rest")) not in VAGUE_VERBS:
            return TaskCue("third_party", m.group("rest"), name=name)
    body = _FILLER_START.sub("", text)
    verb = first_word(body)
    if (
        verb in IMPERATIVE_VERBS
        and not text.rstrip().endswith("?")
        and word_count(body) >= 4
        and not re.match(r"^\w+\s+(?:care|a\s+look|a\s+seat|it\s+easy)\b", body, re.I)
    ):
        return TaskCue("imperative", body)
    return None


DecisionKind = Literal["explicit", "lets", "we_will", "proposal"]


@dataclass(frozen=True)
class DecisionCue:
    """A clause that settles something (``explicit``) or may, once accepted (the others)."""

    kind: DecisionKind
    text: str


_AGENDA = re.compile(
    r"^(?:start|begin|move\s+on|turn|talk|discuss|look|go\s+over|go\s+through|review\s+where|recap|get\s+started"
    r"|see|take\s+a\s+look|focus|check\s+in|catch\s+up|wrap\s+up|jump)\b",
    re.I,
)


def decision_cue(clause: str) -> DecisionCue | None:
    """Classify a clause as a decision cue, or ``None``."""
    text = clause.strip()
    if _DEFER.search(text) or _OPEN.search(text):
        return None
    if m := _IT_IS.match(_FILLER_START.sub("", text)):
        return DecisionCue("explicit", m.group("rest"))
    if m := _EXPLICIT_DECISION.search(text):
        rest = text[m.end() :].strip(" ,.:")
        if word_count(rest) >= 2:
            return DecisionCue("explicit", rest)
        return DecisionCue("explicit", text)
    if m := _LETS.match(text):
        rest = m.group("rest")
        if not _AGENDA.match(rest) and first_word(rest) not in VAGUE_VERBS - {"keep"}:
            return DecisionCue("lets", rest)
        return None
    if m := _WE.match(text):
        rest = m.group("rest")
        if first_word(rest) not in VAGUE_VERBS and not text.endswith("?"):
            return DecisionCue("we_will", rest)
    asks = re.match(rf"^{_LEAD}(?:how\s+about|what\s+if\s+we|why\s+don't\s+we)\b", text, re.I)
    if (m := _PROPOSAL.search(text)) and (not text.endswith("?") or asks):
        rest = re.sub(r"^(?:that\s+)?we\s+", "", m.group("rest"), flags=re.I)
        if first_word(rest) not in VAGUE_VERBS:
            return DecisionCue("proposal", rest)
    return None


def is_acceptance(sentence: str) -> bool:
    """True when a reply opens by agreeing ("Okay", "Agreed", "Sounds good", "Yes, let's …")."""
    return bool(_ACCEPT.match(sentence.strip()))


def is_open(sentence: str) -> bool:
    """True for an explicit open question ("one open question is …", "I'm not sure whether …")."""
    return bool(_OPEN.search(sentence))


def is_deferral(sentence: str) -> bool:
    """True when a sentence puts a matter off ("let's keep that open", "wait … before deciding")."""
    return bool(_DEFER.search(sentence))


def deferral_clause(sentence: str) -> str:
    """The clause of ``sentence`` that defers ("… but let's wait for X before deciding" -> that part)."""
    parts = re.split(r";\s*|,\s+(?:but|and|so)\s+", sentence, flags=re.I)
    return next((p for p in parts if _DEFER.search(p)), sentence)


GENERIC_VERBS = frozenset(
    ["send", "get", "make", "take", "have", "give", "put", "set", "ask", "keep", "bring", "also", "just"]
)


def stems(text: str) -> set[str]:
    """Content-word stems (five-letter prefixes, generic verbs dropped): "referral" ~ "refer"."""
    words = (w.lower() for w in _WORD.findall(text))
    return {w[:5] for w in words if len(w) >= 4 and w not in GENERIC_VERBS and w not in _FUNCTION_WORDS}


_FUNCTION_WORDS = frozenset(
    [
        "this",
        "that",
        "these",
        "those",
        "with",
        "from",
        "into",
        "onto",
        "over",
        "your",
        "yours",
        "mine",
        "their",
        "theirs",
        "them",
        "they",
        "then",
        "than",
        "when",
        "what",
        "which",
        "where",
        "will",
        "would",
        "could",
        "should",
        "shall",
        "have",
        "been",
        "being",
        "about",
        "also",
        "just",
        "please",
        "today",
        "week",
        "next",
        "last",
        "some",
        "more",
        "much",
        "very",
        "really",
        "okay",
        "sure",
        "thanks",
    ]
)


def strip_open_marker(sentence: str) -> str:
    """ "One open question is whether X" -> "Whether X"."""
    text = re.sub(
        r"^.*?\b(?:open\s+question\s+is|not\s+sure\s+(?:about\s+)?(?:is\s+)?|(?:don't|do\s+not)\s+know\s+yet"
        r"|need\s+to\s+(?:figure\s+out|decide)|(?:haven't|have\s+not)\s+decided|unclear)\s*",
        "",
        sentence,
        count=1,
        flags=re.I,
    )
    text = re.sub(r"^(?:about\s+)?is\s+", "", text, flags=re.I)
    return clean_clause(text) if word_count(text) >= 3 else ""


_PRONOUNS = re.compile(r"\b(you|your|yours|yourself|me|my|mine|myself)\b", re.I)


def rewrite_pronouns(text: str, *, speaker: str, addressee: str | None) -> str:
    """Name the people behind "you"/"your"/"me"/"my" so that an item reads on its own."""

    def repl(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        if word in ("me", "myself", "mine"):
            return speaker if word != "mine" else f"{speaker}'s"
        if word == "my":
            return f"{speaker}'s"
        if addressee is None:
            return m.group(1)
        if word in ("your", "yours"):
            return f"{addressee}'s"
        return addressee

    return _PRONOUNS.sub(repl, text)
