"""The ``alerts`` stage: match a sitting's public segments against every confirmed subscription.

It lives in the search package because a saved search must match exactly what the search
would find: the same parser (``search.query``), the same analyzer stems, the same snippet
marks. Subscriptions are compiled (and cached until they change) into an inverted index — each saved query is
filed under one term of one of its clauses (the clause whose shortest term is longest, so the
rarest), prefix queries under their prefix, deputies under their id, committees under their
slug (a committee's follower gets one match per sitting, its first public line) — so a
segment is checked only against the subscriptions that could match it, whatever
their number. Matches go into ``alert_match`` (unique per subscription and segment, so a
re-run, a publication or a clerk's re-index never repeats one); a live subscriber's final-pass
segment that overlaps a live match already sent is skipped. Then the ``mail`` stage is queued:
now for immediate subscriptions, at the digest hour for daily ones.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.jobs import JobContext
from sanarip.models import AlertMatch, Committee, Subscription, utcnow
from sanarip.outbox import next_digest, queue_mail
from sanarip.pipeline import AlertsPayload
from sanarip.runtime import Runtime
from sanarip.sittings import get_sitting
from sanarip.subscriptions import Mode, Target
from sanarip.textanalysis import words
from search.base import Document
from search.documents import sitting_documents
from search.highlight import snippet
from search.query import Atom, Query, QueryError, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compiled:
    """A subscription ready to be checked against a segment."""

    id: int
    mode: str
    draft: bool  # also matches from the live draft
    query: Query | None = None
    filters: tuple[tuple[str, str], ...] = ()
    per_sitting: bool = False  # a committee's follower hears of each sitting's record once, not of every line

    def accepts(self, doc: Document) -> bool:
        """The saved search's filters (the same as the search page's)."""
        for key, value in self.filters:
            if key == "committee" and doc.committee != value:
                return False
            if key == "speaker" and doc.speaker != value:
                return False
            if key == "language" and doc.language != value:
                return False
            if key == "official" and not doc.official:
                return False
            if key == "agenda" and doc.agenda != value:  # an agenda item's identifier
                return False
            if key == "from" and doc.day < value:
                return False
            if key == "to" and doc.day > value:
                return False
        return True


class AnalyzedSegment:
    """One segment's words, analysed once, with the positions of each stem (and of each prefix length the
    saved searches use), so that checking a candidate subscription or marking its words is dict lookups."""

    def __init__(self, text: str, language: str | None, prefix_lengths: set[int]) -> None:
        self.spans, self.stems = words(text, language)
        self.positions: dict[str, list[int]] = defaultdict(list)
        for i, stem in enumerate(self.stems):
            self.positions[stem].append(i)
        # The prefixes (of the lengths the saved searches use) its words begin with: candidates' keys.
        self.prefixes = {stem[:n] for n in prefix_lengths for stem in self.positions if len(stem) >= n}
        self._prefix_hits: dict[str, list[int]] = {}

    def prefix_hits(self, prefix: str) -> list[int]:
        """Positions of the words whose stem begins with ``prefix`` (found once per segment and prefix)."""
        hits = self._prefix_hits.get(prefix)
        if hits is None:
            hits = self._prefix_hits[prefix] = sorted(i for stem, where in self.positions.items()
                                                      if stem.startswith(prefix) for i in where)
        return hits

    def atom_hits(self, atom: Atom) -> list[int]:
        """The word positions ``atom`` matches (a phrase: every word of each occurrence); empty: no match."""
        if atom.kind == "word":
            return self.positions.get(atom.terms[0], [])
        if atom.kind == "prefix":
            return self.prefix_hits(atom.terms[0])
        n, stems, hits = len(atom.terms), self.stems, []
        for i in self.positions.get(atom.terms[0], ()):
            if tuple(stems[i:i + n]) == atom.terms:
                hits.extend(range(i, i + n))
        return hits

    def matches(self, query: Query) -> bool:
        return (all(any(self.atom_hits(a) for a in clause) for clause in query.clauses)
                and not any(self.atom_hits(a) for a in query.excluded))

    def hits(self, query: Query) -> frozenset[int]:
        """What ``search.highlight.matched_words`` finds, from the positions."""
        return frozenset(i for a in query.positive_atoms for i in self.atom_hits(a))


class Matcher:
    """Confirmed subscriptions filed for lookup by the terms, speakers and committees that can match."""

    def __init__(self) -> None:
        self.by_term: dict[str, list[Compiled]] = defaultdict(list)
        self.by_prefix: dict[str, list[Compiled]] = defaultdict(list)
        self.by_person: dict[int, list[Compiled]] = defaultdict(list)
        self.by_committee: dict[str, list[Compiled]] = defaultdict(list)
        self.prefix_lengths: set[int] = set()

    def add_search(self, c: Compiled) -> None:
        assert c.query is not None
        clause = max(c.query.clauses, key=lambda cl: min(len(a.terms[0]) for a in cl))
        for atom in [*c.query.positive_atoms, *c.query.excluded]:  # every prefix is looked up in a segment
            if atom.kind == "prefix":
                self.prefix_lengths.add(len(atom.terms[0]))
        for atom in clause:
            if atom.kind == "prefix":
                self.by_prefix[atom.terms[0]].append(c)
            else:
                self.by_term[atom.terms[0]].append(c)

    def add_person(self, person_id: int, c: Compiled) -> None:
        self.by_person[person_id].append(c)

    def add_committee(self, slug: str, c: Compiled) -> None:
        self.by_committee[slug].append(c)

    def analyze(self, doc: Document) -> AnalyzedSegment:
        return AnalyzedSegment(doc.text, doc.language, self.prefix_lengths)

    def match(self, doc: Document, live: bool = False,
              seg: AnalyzedSegment | None = None) -> list[tuple[Compiled, Query | None]]:
        """The subscriptions ``doc`` matches (a live segment: only those that asked for live); ``seg``:
        ``analyze(doc)`` when the caller keeps it (for the snippets)."""
        seg = seg or self.analyze(doc)
        found: dict[int, tuple[Compiled, Query | None]] = {}
        candidates: dict[int, Compiled] = {}
        for stem in seg.positions:
            for c in self.by_term.get(stem, ()):
                candidates[c.id] = c
        for prefix in seg.prefixes:
            for c in self.by_prefix.get(prefix, ()):
                candidates[c.id] = c
        verdicts: dict[int, bool] = {}  # many subscriptions share a saved query: check each query once
        for c in candidates.values():
            if (c.draft or not live) and c.query is not None and c.accepts(doc):
                ok = verdicts.get(id(c.query))
                if ok is None:
                    ok = verdicts[id(c.query)] = seg.matches(c.query)
                if ok:
                    found[c.id] = (c, c.query)
        followers = self.by_committee.get(doc.committee, [])
        if doc.speaker_id is not None:
            followers = [*followers, *self.by_person.get(doc.speaker_id, ())]
        for c in followers:
            if c.draft or not live:
                found.setdefault(c.id, (c, None))
        return list(found.values())


def load_matcher(s: Session) -> Matcher:
    """Every confirmed subscription, compiled (a saved query the parser now refuses is skipped, logged).
    Columns, not ORM objects, and each distinct query parsed once: 10,000 subscriptions load in well under
    a second."""
    m = Matcher()
    slugs = dict(s.execute(select(Committee.id, Committee.slug)).all())
    parsed: dict[str, Query | None] = {}
    rows = s.execute(select(Subscription.id, Subscription.kind, Subscription.mode, Subscription.draft,
                            Subscription.query, Subscription.filters, Subscription.person_id,
                            Subscription.committee_id).where(Subscription.confirmed_at.is_not(None)))
    for sub_id, kind, mode, draft, text, filters, person_id, committee_id in rows:
        if kind == Target.SEARCH:
            text = text or ""
            if text not in parsed:
                try:
                    parsed[text] = parse(text)
                except QueryError as exc:
                    log.warning("subscription %s: saved query no longer parses (%s)", sub_id, exc)
                    parsed[text] = None
            if parsed[text] is not None:
                m.add_search(Compiled(sub_id, mode, draft, parsed[text], tuple(sorted((filters or {}).items()))))
        elif kind == Target.PERSON and person_id is not None:
            m.add_person(person_id, Compiled(sub_id, mode, draft))
        elif kind == Target.COMMITTEE and committee_id in slugs:
            m.add_committee(slugs[committee_id], Compiled(sub_id, mode, draft, per_sitting=True))
    return m


_CACHE: dict[str, tuple[tuple, Matcher]] = {}
_CACHE_LOCK = threading.Lock()


def current_matcher(s: Session, url: str) -> Matcher:
    """The compiled subscriptions, rebuilt only when they changed (a worker runs many alerts jobs: compiling
    10,000 subscriptions costs more than matching a sitting). The key moves on every subscribe, confirm
    and unsubscribe: the count of confirmed subscriptions, their newest id and newest confirmation."""
    key = tuple(s.execute(select(func.count(), func.max(Subscription.id), func.max(Subscription.confirmed_at))
                          .where(Subscription.confirmed_at.is_not(None))).one())
    with _CACHE_LOCK:
        cached = _CACHE.get(url)
        if cached is not None and cached[0] == key:
            return cached[1]
    matcher = load_matcher(s)
    with _CACHE_LOCK:
        _CACHE[url] = (key, matcher)
    return matcher


def match_sitting(runtime: Runtime, sitting_id: int, live: bool = False, matcher: Matcher | None = None) -> dict:
    """Store the matches of the sitting's public segments; returns counts and the modes that got some."""
    now = utcnow()
    with runtime.db.session() as s:
        matcher = matcher or current_matcher(s, runtime.settings.effective_database_url)
        docs = sitting_documents(s, get_sitting(s, sitting_id))
        known: set[tuple[int, int]] = set()  # (subscription, segment) already matched
        told: set[int] = set()  # subscriptions with a match in this sitting
        spans: dict[int, list[tuple[float, float]]] = defaultdict(list)  # times already matched, per subscription
        for sub_id, seg_id, start, end in s.execute(
                select(AlertMatch.subscription_id, AlertMatch.segment_id, AlertMatch.start, AlertMatch.end)
                .where(AlertMatch.sitting_id == sitting_id)):
            known.add((sub_id, seg_id))
            spans[sub_id].append((start, end))
            told.add(sub_id)
        rows: list[dict] = []
        modes: set[str] = set()
        snippets: dict[tuple, str] = {}  # many subscriptions share a query: one snippet per segment and query
        for doc in docs:
            seg = matcher.analyze(doc)
            by_hits: dict[frozenset[int], str] = {}  # queries that mark the same words share a snippet
            for c, query in matcher.match(doc, live, seg):
                # The same segment again, or (for a live subscriber) the final pass's text of a moment already sent.
                if (c.per_sitting and c.id in told) or (c.id, doc.segment) in known:
                    continue
                if c.draft and any(start < doc.end and doc.start < end for start, end in spans[c.id]):
                    continue
                key = (doc.segment, id(query))  # one Query object per distinct saved query (load_matcher)
                if key not in snippets:
                    hits = seg.hits(query) if query is not None else frozenset()
                    if hits not in by_hits:
                        by_hits[hits] = snippet(doc.text, query or Query(), analyzed=(seg.spans, seg.stems),
                                                hits=set(hits))[0]
                    snippets[key] = by_hits[hits]
                rows.append({"subscription_id": c.id, "segment_id": doc.segment, "sitting_id": sitting_id,
                             "start": doc.start, "end": doc.end, "committee": doc.committee, "day": doc.day,
                             "speaker": doc.speaker, "snippet": snippets[key], "draft": live, "created_at": now})
                known.add((c.id, doc.segment))
                told.add(c.id)
                if c.draft:
                    spans[c.id].append((doc.start, doc.end))
                modes.add(c.mode)
        if rows:
            s.execute(AlertMatch.__table__.insert(), rows)  # one executemany, not an ORM object per match
        added = len(rows)
    return {"segments": len(docs), "matches": added, "modes": sorted(modes)}


def run_alerts_job(ctx: JobContext) -> None:
    args: AlertsPayload = ctx.args
    result = match_sitting(ctx.runtime, args.sitting, live=args.live)
    if Mode.IMMEDIATE in result["modes"]:
        queue_mail(ctx.runtime.queue)
    if Mode.DAILY in result["modes"]:
        queue_mail(ctx.runtime.queue, digest=True, run_after=next_digest(ctx.runtime.settings))
    ctx.report(segments=result["segments"], matches=result["matches"])
