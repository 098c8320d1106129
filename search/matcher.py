"""Confirmed subscriptions compiled for matching a whole sitting at once.

A saved search must match exactly what the search would find: the same parser
(``search.query``) and the same analyzer stems (``sanarip.textanalysis.analysed``, which the
index job has just computed for the same texts). Subscriptions that follow the same thing —
the same query with the same filters, a deputy, a committee — are one *target*
(``sanarip.subscriptions.target_key``), matched once however many people follow it.

Storing what a sitting matched (``Matcher.matched``) is set operations on the sitting's distinct
stems: a one-clause search of plain words and prefixes without filters (most saved searches)
matches when one of its words, or a stem beginning with one of its prefixes, is there. A memo kept
with the compiled subscriptions maps each stem to the keys filed under it or its prefixes, so the
stems go through it without a Python step each. The other searches (several clauses, phrases,
exclusions, filters) come out of the memo as candidates, are kept only when the sitting holds the
words they need, and are checked on bit masks of the segments holding their words (bit ``i``: the
``i``-th segment); phrases look at word positions only where all their words are. Deputies match
their lines, committees a sitting's first line (a committee's follower hears of each sitting once).
The mail stage asks for every matching segment of the targets it sends (``Matcher.hits``).
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.models import Committee, Subscription
from sanarip.subscriptions import Mode, Target, target_key
from sanarip.textanalysis import analysed
from search.base import Document
from search.query import Atom, Query, QueryError, parse

log = logging.getLogger(__name__)


@dataclass
class Followed:
    """One target: what one or more confirmed subscriptions follow."""

    key: str
    query: Query | None = None
    filters: tuple[tuple[str, str], ...] = ()
    person_id: int | None = None
    committee: str | None = None  # a committee's slug: one match per sitting, its first public line
    draft: bool = False  # some subscriber also wants matches from the live draft
    modes: set[str] = field(default_factory=set)
    # What a checked query needs of the sitting's stems before its masks are worth looking at: all of
    # ``must`` (the words of its one-atom clauses), and for each other clause all the words of one of
    # its atoms (``some``).
    must: frozenset[str] = frozenset()
    some: tuple[tuple[frozenset[str], ...], ...] = ()

    def may_match(self, present: set[str]) -> bool:
        if not present >= self.must:
            return False
        for clause in self.some:
            for words in clause:
                if present >= words:
                    break
            else:
                return False
        return True

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


def bits(mask: int) -> list[int]:
    """The indexes of the set bits, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class SittingWords:
    """A sitting's public segments analysed once: their distinct stems, and for the stems asked for (all
    of them with ``complete``) the mask of the segments holding each (bit ``i``: ``docs[i]``)."""

    def __init__(self, docs: list[Document], complete: bool = True) -> None:
        self.docs = docs
        self.stems = [analysed(d.text, d.language) for d in docs]
        self.distinct: set[str] = set().union(*self.stems)
        self.masks: dict[str, int] = {}
        self.complete = complete
        if complete:
            self._fill(None)
        self.all = (1 << len(docs)) - 1
        self._sorted: list[str] | None = None
        self._prefixes: dict[str, int] = {}
        self._phrases: dict[tuple[str, ...], int] = {}

    def _fill(self, terms: set[str] | None) -> None:
        masks = self.masks
        get = masks.get
        for i, seg_stems in enumerate(self.stems):
            bit = 1 << i
            for stem in seg_stems if terms is None else terms.intersection(seg_stems):
                masks[stem] = get(stem, 0) | bit

    def need(self, terms: set[str]) -> None:
        """Make the masks of ``terms`` (those the sitting holds and that are not made yet)."""
        if not self.complete:
            missing = (terms & self.distinct) - self.masks.keys()
            if missing:
                self._fill(missing)

    def mask(self, stem: str) -> int:
        found = self.masks.get(stem)
        if found is None:
            if self.complete or stem not in self.distinct:
                return 0
            self._fill({stem})
            found = self.masks[stem]
        return found

    def prefix_mask(self, prefix: str) -> int:
        """The segments with a word whose stem begins with ``prefix`` (found once per prefix)."""
        mask = self._prefixes.get(prefix)
        if mask is None:
            if self._sorted is None:
                self._sorted = sorted(self.distinct)
            words, mask, found = self._sorted, 0, []
            for i in range(bisect_left(words, prefix), len(words)):
                if not words[i].startswith(prefix):
                    break
                found.append(words[i])
            self.need(set(found))
            for stem in found:
                mask |= self.masks.get(stem, 0)
            self._prefixes[prefix] = mask
        return mask

    def atom_mask(self, atom: Atom) -> int:
        if atom.kind == "word":
            return self.mask(atom.terms[0])
        if atom.kind == "prefix":
            return self.prefix_mask(atom.terms[0])
        mask = self._phrases.get(atom.terms)
        if mask is None:
            mask, n = self.all, len(atom.terms)  # a phrase: its words in a row, looked at where all of them are
            for term in atom.terms:
                mask &= self.mask(term)
            for i in bits(mask):
                st = self.stems[i]
                if not any(st[j : j + n] == atom.terms for j in range(len(st) - n + 1) if st[j] == atom.terms[0]):
                    mask &= ~(1 << i)
            self._phrases[atom.terms] = mask
        return mask

    def query_mask(self, query: Query) -> int:
        mask = self.all
        for clause in query.clauses:
            either = 0
            for atom in clause:
                either |= self.atom_mask(atom)
            mask &= either
            if not mask:
                return 0
        for atom in query.excluded:
            mask &= ~self.atom_mask(atom)
        return mask


class StemMemo(dict):
    """Stem → what it leads to (``lookup(stem)``), kept with the compiled subscriptions: the vocabulary
    of sittings is Zipfian, so most stems of a new sitting were seen in earlier ones. ``useful`` holds
    the stems that lead somewhere, so a sitting's stems are narrowed to those by one set intersection
    and go through without a Python step each (``set().union(*map(memo.__getitem__, …))``)."""

    LIMIT = 500_000

    def __init__(self, lookup: Callable[[str], frozenset[str]]) -> None:
        super().__init__()
        self.lookup = lookup
        self.seen: set[str] = set()
        self.useful: set[str] = set()

    def __missing__(self, stem: str) -> frozenset[str]:
        found = self[stem] = self.lookup(stem)
        self.seen.add(stem)
        if found:
            self.useful.add(stem)
        return found

    def through(self, stems: set[str]) -> set[str]:
        """Everything ``stems`` lead to: one set union of the memo's frozensets, which reuses the hashes
        their tables hold (no key string is touched unless two collide)."""
        if not self.seen.issuperset(stems):  # no new set made for the usual answer, "none new"
            new = stems - self.seen
            if len(self) + len(new) > self.LIMIT:  # a bounded memo: start again rather than grow
                self.clear()
                self.seen.clear()
                self.useful.clear()
                new = stems
            for stem in new:  # looked up once
                self[stem]  # noqa: B018 - fills the memo
        return set().union(*map(self.__getitem__, stems & self.useful))


def _keys(filed: dict[str, list[str]], present: set[str]) -> Iterator[str]:
    """The keys filed under the ``present`` terms (C-level iteration: no Python step per key)."""
    return chain.from_iterable(map(filed.__getitem__, present & filed.keys()))


class Matcher:
    """The targets, filed for lookup by the words, prefixes, deputies and committees that can match."""

    def __init__(self) -> None:
        self.targets: dict[str, Followed] = {}
        # One clause of plain words and prefixes, no exclusion, no filters (most saved searches): any of
        # them present matches. Their keys, under each word and each prefix.
        self.by_word: dict[str, list[str]] = {}
        self.by_word_prefix: dict[str, list[str]] = {}
        # The others, under one term of their rarest clause, checked with the segments' masks.
        self.by_term: dict[str, list[str]] = {}
        self.by_prefix: dict[str, list[str]] = {}
        self.prefix_lengths: set[int] = set()
        self.by_person: dict[int, list[str]] = {}
        self.by_committee: dict[str, list[str]] = {}
        self.daily: set[str] = set()  # keys of the targets some daily subscriber follows
        self.immediate: set[str] = set()
        self.draft: set[str] = set()  # keys of the targets some subscriber follows in the live draft too
        self._memos: tuple[StemMemo, StemMemo] | None = None
        self._checked: set[str] = set()  # the keys filed in by_term and by_prefix

    def add(self, target: Followed, mode: str, draft: bool) -> Followed:
        """File ``target`` (or add a subscriber's mode to the same target filed before)."""
        known = self.targets.get(target.key)
        if known is None:
            known = self.targets[target.key] = target
            self._file(target)
        known.modes.add(mode)
        (self.daily if mode == Mode.DAILY else self.immediate).add(known.key)
        if draft:
            known.draft = True
            self.draft.add(known.key)
        return known

    def _file(self, t: Followed) -> None:
        if t.person_id is not None:
            self.by_person.setdefault(t.person_id, []).append(t.key)
            return
        if t.committee is not None:
            self.by_committee.setdefault(t.committee, []).append(t.key)
            return
        assert t.query is not None
        q, self._memos = t.query, None
        for atom in [*q.positive_atoms, *q.excluded]:
            if atom.kind == "prefix":
                self.prefix_lengths.add(len(atom.terms[0]))
        if len(q.clauses) == 1 and not q.excluded and not t.filters and all(a.kind != "phrase" for a in q.clauses[0]):
            for atom in q.clauses[0]:
                (self.by_word_prefix if atom.kind == "prefix" else self.by_word).setdefault(atom.terms[0], []).append(
                    t.key
                )
            return
        t.must = frozenset(term for cl in q.clauses if len(cl) == 1 and cl[0].kind != "prefix" for term in cl[0].terms)
        t.some = tuple(
            tuple(frozenset(a.terms) for a in cl)
            for cl in q.clauses
            if len(cl) > 1 and all(a.kind != "prefix" for a in cl)
        )
        clause = max(q.clauses, key=lambda cl: min(len(a.terms[0]) for a in cl))
        for atom in clause:
            (self.by_prefix if atom.kind == "prefix" else self.by_term).setdefault(atom.terms[0], []).append(t.key)

    def _stem_memos(self) -> tuple[StemMemo, StemMemo]:
        """Stem → the saved searches' prefixes it begins with; stem → the keys of the searches filed under
        it or its prefixes (the one-clause ones it matches, and the checked ones it makes candidates)."""
        if self._memos is None:
            lengths = sorted(self.prefix_lengths)
            known = self.by_word_prefix.keys() | self.by_prefix.keys()

            def prefixes(stem: str) -> frozenset[str]:
                return frozenset(stem[:n] for n in lengths if len(stem) >= n and stem[:n] in known)

            def filed(stem: str) -> frozenset[str]:
                cut = prefixes(stem)
                return frozenset(
                    (
                        *self.by_word.get(stem, ()),
                        *self.by_term.get(stem, ()),
                        *(k for p in cut for k in self.by_word_prefix.get(p, ())),
                        *(k for p in cut for k in self.by_prefix.get(p, ())),
                    )
                )

            self._memos = (StemMemo(prefixes), StemMemo(filed))
            self._checked = {
                key for filed_keys in (*self.by_term.values(), *self.by_prefix.values()) for key in filed_keys
            }
        return self._memos

    def matched(self, words: SittingWords, live: bool = False) -> set[str]:
        """The keys of the targets the sitting matches (``live``: the live draft, only the targets with a
        subscriber who asked for it). The stored pass: the sitting's distinct stems through the memo, a
        Python step only for the few queries that need their masks checked."""
        if live:
            return set(self.hits(words, live=True))
        _, filed = self._stem_memos()
        keys = filed.through(words.distinct)
        candidates = keys & self._checked
        keys -= candidates
        present, targets = words.distinct, self.targets
        checks = [t for t in map(targets.__getitem__, candidates) if t.may_match(present)]
        if checks:
            words.need({term for t in checks if t.query for a in t.query.positive_atoms for term in a.terms})
            keys.update(t.key for t in checks if self._check(words, t))
        if self.by_person:
            keys.update(_keys(self.by_person, {d.speaker_id for d in words.docs}))  # type: ignore[arg-type]
        if self.by_committee:
            keys.update(_keys(self.by_committee, {d.committee for d in words.docs}))
        return keys

    @staticmethod
    def _check(words: SittingWords, t: Followed) -> int:
        """The mask of the segments a checked query (with its filters) matches."""
        assert t.query is not None
        mask = words.query_mask(t.query)
        if mask and t.filters:
            for i in bits(mask):
                if not t.accepts(words.docs[i]):
                    mask &= ~(1 << i)
        return mask

    def hits(self, words: SittingWords, live: bool = False, only: set[str] | None = None) -> dict[str, list[int]]:
        """Each matched target's segments, as indexes into ``words.docs`` in order (the mail stage, for the
        targets ``only``; a committee: the sitting's first line). ``live``: only the draft's followers."""
        if not words.complete:  # it looks at most stems' masks: make them all in one pass
            words = SittingWords(words.docs)
        docs, present, prefixes = words.docs, words.distinct, self._stem_memos()[0].through(words.distinct)
        keep = (self.draft if live else self.targets.keys()) & (self.targets.keys() if only is None else only)
        found: dict[str, int] = {}
        for filed, have, mask_of in (
            (self.by_word, present, words.mask),
            (self.by_word_prefix, prefixes, words.prefix_mask),
        ):
            for term in have & filed.keys():
                for key in filed[term]:
                    if key in keep:
                        found[key] = found.get(key, 0) | mask_of(term)
        for key in {*_keys(self.by_term, present), *_keys(self.by_prefix, prefixes)} & keep:
            mask = self._check(words, self.targets[key])
            if mask:
                found[key] = mask
        for i, d in enumerate(docs):
            for key in self.by_person.get(d.speaker_id, ()) if d.speaker_id is not None else ():
                if key in keep:
                    found[key] = found.get(key, 0) | (1 << i)
            for key in self.by_committee.get(d.committee, ()):
                if key in keep and key not in found:
                    found[key] = 1 << i
        return {key: bits(mask) for key, mask in found.items()}


def load_matcher(s: Session) -> Matcher:
    """Every confirmed subscription, compiled (a saved query the parser now refuses is skipped, logged).
    Columns, not ORM objects, and each distinct query parsed once."""
    m = Matcher()
    slugs = dict(s.execute(select(Committee.id, Committee.slug)).all())
    parsed: dict[str, Query | None] = {}
    rows = s.execute(
        select(
            Subscription.id,
            Subscription.kind,
            Subscription.mode,
            Subscription.draft,
            Subscription.query,
            Subscription.filters,
            Subscription.person_id,
            Subscription.committee_id,
        ).where(Subscription.confirmed_at.is_not(None))
    )
    for sub_id, kind, mode, draft, text, filters, person_id, committee_id in rows:
        key = target_key(kind, text, filters, person_id, committee_id)
        if key in m.targets:
            m.add(m.targets[key], mode, draft)
        elif kind == Target.SEARCH:
            text = text or ""
            if text not in parsed:
                try:
                    parsed[text] = parse(text)
                except QueryError as exc:
                    log.warning("subscription %s: saved query no longer parses (%s)", sub_id, exc)
                    parsed[text] = None
            if parsed[text] is not None:
                m.add(Followed(key, parsed[text], tuple(sorted((filters or {}).items()))), mode, draft)
        elif kind == Target.PERSON and person_id is not None:
            m.add(Followed(key, person_id=person_id), mode, draft)
        elif kind == Target.COMMITTEE and committee_id in slugs:
            m.add(Followed(key, committee=slugs[committee_id]), mode, draft)
    return m


_CACHE: dict[str, tuple[tuple, Matcher]] = {}
_KEY = select(  # built once: every index job reads it
    *(
        select(part).select_from(Subscription).scalar_subquery()
        for part in (func.count(), func.max(Subscription.id), func.max(Subscription.confirmed_at))
    )
)
_CACHE_LOCK = threading.Lock()


def current_matcher(s: Session, url: str) -> Matcher:
    """The compiled subscriptions, rebuilt only when they changed (a worker runs many index and alerts
    jobs: compiling 10,000 subscriptions costs far more than matching a sitting). The key moves on every
    subscribe, confirm and unsubscribe — the count of subscriptions, the newest id, the newest
    confirmation — each its own subquery, so that SQLite answers each from an index (together, one
    query scans the table): it is read by every index job."""
    key = tuple(s.execute(_KEY).one())
    with _CACHE_LOCK:
        cached = _CACHE.get(url)
        if cached is not None and cached[0] == key:
            return cached[1]
    matcher = load_matcher(s)
    with _CACHE_LOCK:
        _CACHE[url] = (key, matcher)
    return matcher
