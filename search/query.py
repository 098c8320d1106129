"""The query language: words (all must match), "exact phrases", prefix*, -exclusion, OR.

``parse`` turns a query string into a ``Query``: a conjunction of clauses, each clause a
disjunction of atoms; excluded atoms are kept apart. Atoms hold analyzed tokens (stems), so
both backends and the highlighter see exactly the same terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sanarip.errors import SanaripError
from sanarip.textanalysis import stems

MAX_QUERY_LENGTH = 500
MAX_ATOMS = 32
TOKEN_RE = re.compile(r'"[^"]*"|\S+')


class QueryError(SanaripError):
    """A malformed query; the message says what to fix."""


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


def _atom(raw: str) -> Atom | None:
    if raw.startswith('"'):
        terms = tuple(stems(raw.strip('"')))
        if not terms:
            return None
        return Atom("phrase" if len(terms) > 1 else "word", terms, raw)
    if raw.endswith("*"):
        body = raw.rstrip("*")
        if "*" in body:
            raise QueryError(f"'*' may only end a word: {raw!r}")
        terms = tuple(stems(body))
        if not terms:
            raise QueryError(f"'{raw}' has no letters before '*'")
        if len(terms) > 1:
            raise QueryError(f"a prefix must be one word: {raw!r}")
        return Atom("prefix", terms, raw)
    terms = tuple(stems(raw))
    if not terms:
        return None
    return Atom("phrase" if len(terms) > 1 else "word", terms, raw)


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
        atom = _atom(raw[1:] if negated else raw)
        if atom is None:
            if pending_or:
                raise QueryError("OR needs a word on each side, as in: бюджет OR налог")
            continue  # punctuation only: ignored like in the text
        if negated:
            if pending_or:
                raise QueryError("cannot exclude inside OR: put the -word outside the OR")
            query.excluded.append(atom)
        elif pending_or:
            query.clauses[-1].append(atom)
        else:
            query.clauses.append([atom])
        pending_or = False
    if pending_or:
        raise QueryError("OR needs a word on each side, as in: бюджет OR налог")
    if not query.clauses:
        raise QueryError("the query needs at least one word that is not excluded")
    if len(query.positive_atoms) + len(query.excluded) > MAX_ATOMS:
        raise QueryError(f"too many terms (at most {MAX_ATOMS})")
    return query
