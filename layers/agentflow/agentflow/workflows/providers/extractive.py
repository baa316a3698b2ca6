"""The offline provider: no LLM, sentence embeddings (all-MiniLM-L6-v2) plus conversational cues.

- Key points: the sentences most central to the meeting (cosine to the mean embedding), picked
  with maximal marginal relevance so that they do not repeat one another.
- Action items: self-commitments ("I'll send …") bind the speaker; requests and instructions
  ("could you upload …", "keep logging …") bind the person addressed (named, or the one who
  answers). A request and the addressee's "Sure, I'll …" become one item: cues by the same owner
  a turn or two apart merge when their embeddings are close or the later one only points back
  ("please book it"). Due dates are read from the text.
- Decisions: explicit ones ("we're agreed on …", "… it is") and proposals, "let's …" or "we'll …"
  that the other side accepts in the next turn ("Okay", "Agreed", "Yes, let's …").
- Open questions: "one open question is …", "I'm not sure whether …", and questions that are
  deferred ("let's keep that open", "wait … before deciding").

The cues are English; for other languages only key points, title and overview are produced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from agentflow.schemas.summary import ActionItem, Decision, KeyPoint, OpenQuestion, Utterance
from agentflow.workflows.providers import patterns as pt
from agentflow.workflows.providers.base import (
    ComposeRequest,
    Composition,
    Extraction,
    ExtractRequest,
    Participant,
)
from agentflow.workflows.providers.minilm import MODEL_NAME, load_minilm

Embed = Callable[[Sequence[str]], Any]  # texts -> float32 array (n, d), rows of norm 1

ACTION_SIMILARITY = 0.45  # cues by one owner closer than this (cosine) are the same task
DECISION_SIMILARITY = 0.55
QUESTION_SIMILARITY = 0.5
TURN_WINDOW = 2  # how many turns apart two cues of one item may be


def _words(name: str) -> list[str]:
    """A word list shipped beside this module (``data/<name>``: one word a line, ``#`` comments)."""
    text = (resources.files("agentflow.workflows.providers") / "data" / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")
_ABBREVIATIONS = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e)\.$", re.I)
_STOPWORDS = frozenset(_words("stopwords.txt"))


@dataclass(frozen=True)
class Sentence:
    """One sentence of one utterance."""

    index: int
    turn: int  # index of its utterance
    utterance_id: str
    speaker: str
    text: str


@dataclass
class _Cue:
    sentence: Sentence
    text: str
    owner: str | None = None
    due: str | None = None
    kind: str = ""
    anaphoric: bool = False
    sources: set[str] = field(default_factory=set)
    confirmed: bool = False


def split_sentences(utterances: Sequence[Utterance]) -> list[Sentence]:
    """Split every utterance into sentences (keeping "Dr." and similar abbreviations whole)."""
    out: list[Sentence] = []
    for turn, utt in enumerate(utterances):
        pieces: list[str] = []
        for piece in _SENTENCE_END.split(pt.normalise(utt.text)):
            if pieces and _ABBREVIATIONS.search(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {piece}"
            elif piece.strip():
                pieces.append(piece.strip())
        for text in pieces:
            out.append(Sentence(len(out), turn, utt.id, utt.speaker, text))
    return out


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        found: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            found.setdefault(self.find(i), []).append(i)
        return sorted(found.values(), key=lambda g: g[0])


def _group_cues(
    cues: Sequence[_Cue], *, window: int, same: Callable[[_Cue, _Cue, int], bool]
) -> list[list[_Cue]]:
    """Cues that are one item, in groups ordered by their first cue.

    An earlier and a later cue at most ``window`` turns apart (``gap``, the later's turn minus the
    earlier's) are one item when ``same(earlier, later, gap)``; being one item is transitive.
    """
    uf = _UnionFind(len(cues))
    for j, later in enumerate(cues):
        for i in range(j):
            earlier = cues[i]
            gap = later.sentence.turn - earlier.sentence.turn
            if gap <= window and same(earlier, later, gap):
                uf.union(i, j)
    return [[cues[i] for i in group] for group in uf.groups()]


def _name_keys(participants: Sequence[Participant]) -> dict[str, str]:
    """Lower-case full names and unambiguous first names -> participant name."""
    keys: dict[str, str] = {}
    firsts: dict[str, list[str]] = {}
    for p in participants:
        keys[p.name.lower()] = p.name
        tokens = [
            t for t in re.findall(r"[A-Za-z][A-Za-z'-]+", p.name) if not re.fullmatch(r"(?i)dr|mr|mrs|ms", t)
        ]
        if tokens and not p.name.lower().startswith("speaker"):
            firsts.setdefault(tokens[0].lower(), []).append(p.name)
    for first, names in firsts.items():
        if len(names) == 1:
            keys.setdefault(first, names[0])
    return keys


class _Analysis:
    """Everything the extractive provider derives from one chunk."""

    def __init__(
        self, utterances: Sequence[Utterance], participants: Sequence[Participant], embed: Embed
    ) -> None:
        self.utterances = list(utterances)
        names = [p.name for p in participants]
        for utt in self.utterances:
            if utt.speaker not in names:
                names.append(utt.speaker)
        self.participants = [*participants, *(Participant(name=n) for n in names[len(participants) :])]
        self.names = _name_keys(self.participants)
        self.sentences = split_sentences(self.utterances)
        self.vectors = embed([s.text for s in self.sentences]) if self.sentences else np.zeros((0, 384))

    # ------------------------------------------------------------------ helpers
    def sim(self, a: Sentence, b: Sentence) -> float:
        return float(self.vectors[a.index] @ self.vectors[b.index])

    def addressee(self, sentence: Sentence) -> str | None:
        """Who a request is put to: named in it, else the next other speaker, else the previous one."""
        lowered = sentence.text.lower()
        for key, name in self.names.items():
            if name != sentence.speaker and re.search(rf"\b{re.escape(key)}\b", lowered):
                return name
        for step in (1, -1, 2, -2):
            turn = sentence.turn + step
            if 0 <= turn < len(self.utterances) and self.utterances[turn].speaker != sentence.speaker:
                return self.utterances[turn].speaker
        others = [p.name for p in self.participants if p.name != sentence.speaker]
        return others[0] if len(others) == 1 else None

    def turn_sentences(self, turn: int) -> list[Sentence]:
        return [s for s in self.sentences if s.turn == turn]

    def next_other_turn(self, sentence: Sentence) -> int | None:
        turn = sentence.turn + 1
        if turn < len(self.utterances) and self.utterances[turn].speaker != sentence.speaker:
            return turn
        return None

    def accepted_by_next(self, sentence: Sentence) -> int | None:
        """The next turn, if another speaker opens it by agreeing."""
        turn = self.next_other_turn(sentence)
        if turn is not None and pt.is_acceptance(pt.normalise(self.utterances[turn].text)):
            return turn
        return None

    # ------------------------------------------------------------------ actions
    def action_items(self) -> list[ActionItem]:
        cues: list[_Cue] = []
        for s in self.sentences:
            for clause in pt.clauses(s.text):
                cue = pt.task_cue(clause, self.names)
                if cue is None:
                    continue
                owner = {
                    "commit": s.speaker,
                    "request": self.addressee(s),
                    "imperative": self.addressee(s),
                    "third_party": cue.name,
                }[cue.kind]
                if owner is None:
                    continue
                stated = pt.find_due(cue.task)
                # "me"/"my" are the speaker; "you"/"your" the person spoken to.
                spoken_to = self.addressee(s)
                text = pt.rewrite_pronouns(pt.strip_due(cue.task), speaker=s.speaker, addressee=spoken_to)
                text = pt.clean_clause(text)
                if pt.word_count(text) < 2:
                    continue
                cues.append(
                    _Cue(
                        sentence=s,
                        text=text,
                        owner=owner,
                        due=stated.text if stated else None,
                        kind=cue.kind,
                        anaphoric=pt.is_anaphoric(pt.strip_due(cue.task)),
                        sources={s.utterance_id},
                    )
                )

        def same_task(earlier: _Cue, later: _Cue, gap: int) -> bool:
            if earlier.owner != later.owner:
                return False
            close = self.sim(earlier.sentence, later.sentence) >= ACTION_SIMILARITY
            points_back = later.anaphoric and gap <= 1
            # Same words, different sentence shape ("refer you to X" / "send the referral").
            same_thing = gap <= 1 and bool(pt.stems(earlier.text) & pt.stems(later.text))
            return close or points_back or same_thing

        rank = {"commit": 0, "third_party": 1, "request": 2, "imperative": 3}
        items: list[ActionItem] = []
        for members in _group_cues(cues, window=TURN_WINDOW, same=same_task):
            best = min(members, key=lambda c: (c.anaphoric, rank[c.kind], -pt.word_count(c.text)))
            due = best.due or next((c.due for c in members if c.due), None)
            items.append(ActionItem(text=best.text, owner=best.owner, due=due, sources=self._cited(members)))
        return items

    def _cited(self, members: Sequence[_Cue]) -> list[str]:
        """The utterance ids a group of cues cites, in transcript order."""
        return sorted({u for c in members for u in c.sources}, key=self._order)

    def _order(self, utterance_id: str) -> int:
        return next((i for i, u in enumerate(self.utterances) if u.id == utterance_id), 0)

    # ---------------------------------------------------------------- decisions
    def decisions(self) -> list[Decision]:
        cues: list[_Cue] = []
        for s in self.sentences:
            opens_with_yes = pt.is_acceptance(pt.normalise(self.utterances[s.turn].text))
            for clause in pt.clauses(s.text):
                if pt.task_cue(clause, self.names) is not None:
                    continue
                cue = pt.decision_cue(clause)
                if cue is None:
                    continue
                accepted = self.accepted_by_next(s)
                sources = {s.utterance_id}
                if accepted is not None and cue.kind != "explicit":
                    sources.add(self.utterances[accepted].id)
                prev = s.turn - 1
                follows_proposal = (
                    prev >= 0
                    and self.utterances[prev].speaker != s.speaker
                    and any(
                        (c := pt.decision_cue(x)) is not None and c.kind in ("proposal", "we_will")
                        for x in pt.clauses(pt.normalise(self.utterances[prev].text))
                    )
                )
                confirmed = {
                    "explicit": True,
                    "lets": accepted is not None or opens_with_yes or follows_proposal,
                    "we_will": accepted is not None,
                    "proposal": accepted is not None,
                }[cue.kind]
                text = pt.clean_clause(
                    pt.rewrite_pronouns(cue.text, speaker=s.speaker, addressee=self.addressee(s))
                )
                cues.append(
                    _Cue(
                        sentence=s,
                        text=text,
                        kind=cue.kind,
                        anaphoric=pt.is_anaphoric(cue.text) or pt.word_count(text) < 3,
                        sources=sources,
                        confirmed=confirmed,
                    )
                )

        def same_decision(earlier: _Cue, later: _Cue, gap: int) -> bool:
            linked = later.sentence.utterance_id in earlier.sources and earlier.confirmed
            close = self.sim(earlier.sentence, later.sentence) >= DECISION_SIMILARITY
            points_back = later.anaphoric and gap <= 1
            return linked or close or points_back

        items: list[Decision] = []
        for members in _group_cues(cues, window=TURN_WINDOW, same=same_decision):
            if not any(c.confirmed for c in members):
                continue
            best = min(members, key=lambda c: (c.anaphoric, -pt.word_count(c.text)))
            items.append(Decision(text=best.text, sources=self._cited(members)))
        return items

    # ----------------------------------------------------------- open questions
    def _referent(self, s: Sentence) -> list[Sentence]:
        """The question a deferral or a bare "I don't know yet" points back to."""
        earlier = [x for x in self.turn_sentences(s.turn) if x.index < s.index]
        found = [x for x in earlier if x.text.endswith("?") or pt.is_open(x.text)]
        if found:
            return found[-1:]
        prev = s.turn - 1
        if prev >= 0:
            found = [x for x in self.turn_sentences(prev) if x.text.endswith("?") or pt.is_open(x.text)]
        return found

    def open_questions(self) -> list[OpenQuestion]:
        cues: list[_Cue] = []
        for s in self.sentences:
            if pt.is_open(s.text):
                stripped = pt.strip_open_marker(s.text)
                if pt.word_count(stripped) >= 3 and not pt.is_anaphoric(stripped):
                    cues.append(_Cue(sentence=s, text=stripped, sources={s.utterance_id}))
                    continue
            if pt.is_open(s.text) or pt.is_deferral(s.text):
                referent = self._referent(s)
                if referent:
                    text = " ".join(
                        (pt.strip_open_marker(r.text) or r.text) if pt.is_open(r.text) else r.text
                        for r in referent
                    )
                    if not pt.is_open(referent[-1].text) and pt.is_deferral(s.text):
                        text = f"{text} — {pt.clean_clause(pt.deferral_clause(s.text))}"
                    sources = {s.utterance_id, *(r.utterance_id for r in referent)}
                    cues.append(_Cue(sentence=referent[0], text=text, sources=sources, anaphoric=True))
                elif not pt.is_anaphoric(s.text):
                    cues.append(_Cue(sentence=s, text=pt.clean_clause(s.text), sources={s.utterance_id}))

        def same_question(earlier: _Cue, later: _Cue, gap: int) -> bool:
            shares = bool(earlier.sources & later.sources)
            return shares or self.sim(earlier.sentence, later.sentence) >= QUESTION_SIMILARITY

        items: list[OpenQuestion] = []
        for members in _group_cues(cues, window=1, same=same_question):
            best = min(members, key=lambda c: (c.anaphoric, -pt.word_count(c.text)))
            items.append(OpenQuestion(text=best.text, sources=self._cited(members)))
        return items

    # --------------------------------------------------------------- key points
    def key_points(self, limit: int, exclude: set[str]) -> list[KeyPoint]:
        candidates = [
            s
            for s in self.sentences
            if pt.word_count(s.text) >= 7
            and not s.text.endswith("?")
            and not pt.is_acceptance(s.text)
            and not pt.is_deferral(s.text)
            # Sentences opening with a pronoun lean on the one before and read badly alone.
            and pt.first_word(s.text) not in {"that", "this", "it", "those", "these", "they"}
            and s.text not in exclude
        ]
        if not candidates:
            candidates = [s for s in self.sentences if pt.word_count(s.text) >= 3]
        if not candidates:
            # Only short sentences ("Okay.", "Thanks, bye."): they are what was said, and a summary
            # of a non-empty transcript must say something (Summary's validator refuses it empty).
            candidates = [s for s in self.sentences if s.text not in exclude]
        if not candidates:
            return []
        vecs = self.vectors[[s.index for s in candidates]]
        centre = self.vectors.mean(axis=0)
        centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
        relevance = vecs @ centre
        chosen = mmr(relevance, vecs, k=min(limit, max(3, len(candidates) // 5)), diversity=0.35)
        return [
            KeyPoint(
                text=f"{candidates[i].speaker}: {candidates[i].text}", sources=[candidates[i].utterance_id]
            )
            for i in sorted(chosen)
        ]


def mmr(relevance: Any, vectors: Any, *, k: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` items, relevant and unlike one another."""
    chosen: list[int] = []
    remaining = list(range(len(relevance)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = (vectors[remaining] @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        best = remaining[int(np.argmax(scores))]
        chosen.append(best)
        remaining.remove(best)
    return chosen


def keyphrases(texts: Sequence[str], embed: Embed, *, k: int = 2, max_candidates: int = 40) -> list[str]:
    """KeyBERT-style topic phrases: frequent 1–3 word phrases closest to the whole text, via MMR."""
    counts: dict[str, int] = {}
    for text in texts:
        words = re.findall(r"[a-z][a-z'-]*", pt.normalise(text).lower())
        for n in (1, 2, 3):
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if gram[0] in _STOPWORDS or gram[-1] in _STOPWORDS or any(len(w) < 3 for w in gram):
                    continue
                if any(w in _STOPWORDS for w in gram[1:-1]):
                    continue
                if gram[0].endswith("ed") and len(gram[0]) > 4:
                    continue  # "mentioned knee pain": a verb, not the start of a topic
                phrase = " ".join(gram)
                counts[phrase] = counts.get(phrase, 0) + 1
    if not counts:
        return []
    # Longer phrases are rarer but more telling: weigh count by length.
    ranked = sorted(counts, key=lambda p: (-(counts[p] * (1 + 0.5 * p.count(" "))), p))[:max_candidates]
    vecs = embed(ranked)
    doc = embed([" ".join(texts)[:4000]])[0]
    relevance = vecs @ doc
    chosen = [ranked[i] for i in mmr(relevance, vecs, k=k, diversity=0.5)]
    # Restore the speakers' casing ("SSO setup", "Okta") from the first occurrence.
    joined = pt.normalise(" ".join(texts))
    restored = []
    for phrase in chosen:
        found = re.search(r"\b" + r"\s+".join(map(re.escape, phrase.split())) + r"\b", joined, re.I)
        restored.append(found.group(0) if found else phrase)
    return restored


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} seconds"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def compose_extractive(request: ComposeRequest, embed: Embed) -> Composition:
    """A title from topic phrases and a templated overview that names only people who spoke."""
    spoke = [s for s in request.speakers if s.talk_time_seconds > 0]
    if not request.utterances:
        return Composition(title="No speech detected", overview="The recording contains no speech.")
    topics = keyphrases([u.text for u in request.utterances], embed, k=2)
    title = _join([t for t in topics]).strip() or "Meeting summary"
    title = title[:1].upper() + title[1:]
    people = _join([f"{s.name} ({s.role})" if s.role else s.name for s in spoke]) or "The participants"
    parts = [f"{people} spoke for {_minutes(request.duration)}"]
    if topics:
        parts[0] += f" about {_join(topics)}"
    parts[0] += "."
    draft = request.draft
    if draft.decisions:
        noun = "decision" if len(draft.decisions) == 1 else "decisions"
        parts.append(
            f"They reached {len(draft.decisions)} {noun}: "
            + "; ".join(_lower_first(d.text) for d in draft.decisions)
            + "."
        )
    if draft.action_items:
        owners: dict[str, int] = {}
        for a in draft.action_items:
            owners[a.owner or "unassigned"] = owners.get(a.owner or "unassigned", 0) + 1
        parts.append(
            f"{len(draft.action_items)} action item{'s' if len(draft.action_items) != 1 else ''} "
            f"came out of it ({_join([f'{n} for {o}' for o, n in owners.items()])})."
        )
    if draft.open_questions:
        parts.append(f"Still open: {_lower_first(draft.open_questions[0].text.rstrip('.?'))}.")
    overview = " ".join(parts)
    if len(overview) > request.max_overview_chars:
        overview = overview[: request.max_overview_chars - 1].rsplit(" ", 1)[0] + "…"
    return Composition(title=title[:200], overview=overview)


def extract_extractive(request: ExtractRequest, embed: Embed) -> Extraction:
    """Key points, decisions, action items and open questions of one chunk, without an LLM."""
    if not request.utterances:
        return Extraction()
    analysis = _Analysis(request.utterances, request.participants, embed)
    english = request.language.lower().startswith("en")
    actions = analysis.action_items() if english else []
    decisions = analysis.decisions() if english else []
    questions = analysis.open_questions() if english else []
    return Extraction(
        key_points=analysis.key_points(request.max_key_points, exclude=set()),
        decisions=decisions,
        action_items=actions,
        open_questions=questions,
    )


def default_embed(texts: Sequence[str]) -> Any:
    """all-MiniLM-L6-v2 from the installed wheel (loaded once per process)."""
    return load_minilm().encode(texts)


@dataclass(frozen=True)
class ExtractiveProvider:
    """The offline provider; ``embed`` defaults to all-MiniLM-L6-v2 from the wheel."""

    embed: Embed = default_embed
    name: str = "extractive"
    model: str = MODEL_NAME
    # No model context to fit: chunks only bound the quadratic cue matching on very long meetings.
    context_chars: int = 60_000

    async def extract(self, request: ExtractRequest) -> Extraction:
        """See ``extract_extractive``."""
        return extract_extractive(request, self.embed)

    async def compose(self, request: ComposeRequest) -> Composition:
        """See ``compose_extractive``."""
        return compose_extractive(request, self.embed)
