"""Snippets: the original text, HTML-escaped, with ``<mark>`` around the words a query matched.

Matching runs on the analyzer's tokens and is mapped back onto the original characters, so
``депутаты`` is marked for a query ``депутат`` and the marks are identical on every backend.
"""

from __future__ import annotations

from html import escape

from sanarip.textanalysis import Token, tokens
from search.query import Query

WINDOW_WORDS = 32


def matched_tokens(toks: list[Token], query: Query) -> set[int]:
    """Indexes of the tokens the query's positive atoms match."""
    hits: set[int] = set()
    for atom in query.positive_atoms:
        if atom.kind == "word":
            hits.update(i for i, t in enumerate(toks) if t.stem == atom.terms[0])
        elif atom.kind == "prefix":
            hits.update(i for i, t in enumerate(toks) if t.stem.startswith(atom.terms[0]))
        else:
            n = len(atom.terms)
            for i in range(len(toks) - n + 1):
                if all(toks[i + k].stem == atom.terms[k] for k in range(n)):
                    hits.update(range(i, i + n))
    return hits


def snippet(text: str, query: Query, window: int = WINDOW_WORDS) -> tuple[str, list[str]]:
    """(HTML snippet around the first match, the matched words in order)."""
    toks = tokens(text)
    hits = sorted(matched_tokens(toks, query))
    if not toks:
        return escape(text), []
    first = hits[0] if hits else 0
    lo = max(0, first - window // 3)
    hi = min(len(toks), lo + window)
    start = 0 if lo == 0 else toks[lo].start
    end = len(text) if hi == len(toks) else toks[hi - 1].end
    parts, cursor = [], start
    for i in hits:
        if i < lo or i >= hi:
            continue
        t = toks[i]
        parts.append(escape(text[cursor:t.start]))
        parts.append(f"<mark>{escape(text[t.start:t.end])}</mark>")
        cursor = t.end
    parts.append(escape(text[cursor:end]))
    html = ("… " if start > 0 else "") + "".join(parts) + (" …" if end < len(text) else "")
    return html, [text[toks[i].start:toks[i].end] for i in hits]
