"""The query language: words (all must match), "exact phrases", prefix*, -exclusion, OR.

``parse`` turns a query string into a ``Query``: a conjunction of clauses, each clause a
disjunction of atoms; excluded atoms are kept apart. Atoms hold analyzed tokens (stems), so
both backends and the highlighter see exactly the same terms. A term whose Kyrgyz reading differs
from its Russian/English one (``sanarip.textanalysis.variants``) becomes one atom per reading,
OR-ed in its clause; limits count typed terms, not readings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sanarip.errors import SanaripError
from sanarip.textanalysis import variants

MAX_QUERY_LENGTH = 500
MAX_ATOMS = 32
# A prefix or an OR alternative makes the engine walk many posting lists: a query holds few of them,
# and a prefix names at least two letters (one letter matches a large part of the vocabulary).
MIN_PREFIX = 2
MAX_PREFIXES = 4
MAX_ALTERNATIVES = 8  # atoms in OR groups, over the whole query
TOKEN_RE = re.compile(r'"[^"]*"|\S+')


class QueryError(SanaripError):
    """A malformed query; the message says what to fix."""


class QueryTooExpensive(QueryError):
    """A query that ran past its time budget; narrowing it (fewer prefixes or OR terms, a filter) helps."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        super().__init__(f"query too expensive (over {budget:g} s): narrow it with fewer prefixes or OR terms, "
                         "longer prefixes, or a committee or date filter")

    def __reduce__(self) -> tuple:
        return type(self), (self.budget,)  # raised in a search process, re-raised in the web process


@dataclass(frozen=True)
class Atom:
    kind: str  # "word" | "phrase" | "prefix"
    terms: tuple[str, ...]  # stems (a prefix atom: the stem of the prefix)
    source: str  # as the user typed it


@dataclass
class Query:
    clauses: list[list[Atom]] = field(default_factory=list)  # AND of (OR of atoms)
    excluded: list[Atom] = field(default_factory=list)

    @property
    def positive_atoms(self) -> list[Atom]:
        return [a for clause in self.clauses for a in clause]


def _atoms(raw: str) -> list[Atom]:
    """The atoms of one typed term: one per analyzed reading (Russian/English, Kyrgyz) when they differ,
    as alternatives of one clause; empty for a term without letters."""
    if raw.endswith("*") and not raw.startswith('"'):
        body = raw.rstrip("*")
        if "*" in body:
            raise QueryError(f"'*' may only end a word: {raw!r}")
        readings = variants(body)
        if not readings[0]:
            raise QueryError(f"'{raw}' has no letters before '*'")
        if len(readings[0]) > 1:
            raise QueryError(f"a prefix must be one word: {raw!r}")
        if len(readings[0][0]) < MIN_PREFIX:
            raise QueryError(f"a prefix needs at least {MIN_PREFIX} letters before '*': {raw!r}")
        return [Atom("prefix", terms, raw) for terms in readings if len(terms[0]) >= MIN_PREFIX]
    readings = variants(raw.strip('"') if raw.startswith('"') else raw)
    return [Atom("phrase" if len(terms) > 1 else "word", terms, raw) for terms in readings if terms]


def _terms(atoms: list[Atom]) -> int:
    """How many typed terms ``atoms`` are (a term's readings count once)."""
    return len({a.source for a in atoms})


def parse(text: str) -> Query:
    """Parse a user query; raises QueryError with a helpful message when it is malformed."""
    text = (text or "").strip()
    if not text:
        raise QueryError("empty query: type one or more words")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query too long ({len(text)} characters, at most {MAX_QUERY_LENGTH})")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote: close the phrase with a second "')
    query = Query()
    pending_or = False
    for raw in TOKEN_RE.findall(text):
        if raw == "OR":
            if not query.clauses or pending_or:
                raise QueryError("OR needs a word on each side, as in: бюджет OR налог")
            pending_or = True
            continue
        negated = raw.startswith("-") and len(raw) > 1
        if raw == "-":
            raise QueryError("a lone '-' excludes nothing: write -word to exclude a word")
        atoms = _atoms(raw[1:] if negated else raw)
        if not atoms:
            if pending_or:
                raise QueryError("OR needs a word on each side, as in: бюджет OR налог")
            continue  # punctuation only: ignored like in the text
        if negated:
            if pending_or:
                raise QueryError("cannot exclude inside OR: put the -word outside the OR")
            query.excluded.extend(atoms)
        elif pending_or:
            query.clauses[-1].extend(atoms)
        else:
            query.clauses.append(atoms)
        pending_or = False
    if pending_or:
        raise QueryError("OR needs a word on each side, as in: бюджет OR налог")
    if not query.clauses:
        raise QueryError("the query needs at least one word that is not excluded")
    if sum(_terms(c) for c in query.clauses) + _terms(query.excluded) > MAX_ATOMS:
        raise QueryError(f"too many terms (at most {MAX_ATOMS})")
    atoms = query.positive_atoms + query.excluded
    if _terms([a for a in atoms if a.kind == "prefix"]) > MAX_PREFIXES:
        raise QueryError(f"too many prefix* terms (at most {MAX_PREFIXES}): use longer words")
    if sum(_terms(c) for c in query.clauses if _terms(c) > 1) > MAX_ALTERNATIVES:
        raise QueryError(f"too many OR alternatives (at most {MAX_ALTERNATIVES})")
    return query


def cache_key(query: Query) -> tuple:
    """What decides a query's result: its analyzed atoms, with clause and OR order (and spelling) ignored.

    ``Бюджет``, ``бюджет`` and ``бюджеты налог`` / ``налог бюджеты`` share one cached result.
    """
    def atoms(group: list[Atom]) -> frozenset[tuple[str, tuple[str, ...]]]:
        return frozenset((a.kind, a.terms) for a in group)

    return frozenset(atoms(c) for c in query.clauses), atoms(query.excluded)
