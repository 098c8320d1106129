"""Snippets: the original text, HTML-escaped, with ``<mark>`` around the words a query matched.

Matching runs on the analyzer's tokens and is mapped back onto the original characters, so
``депутаты`` is marked for a query ``депутат`` and the marks are identical on every backend.
"""

from __future__ import annotations

from html import escape

from sanarip.textanalysis import words
from search.query import Query

WINDOW_WORDS = 32


def matched_words(stems: list[str], query: Query) -> set[int]:
    """Indexes of the words (by their stems) that the query's positive atoms match."""
    hits: set[int] = set()
    for atom in query.positive_atoms:
        if atom.kind == "word":
            hits.update(i for i, s in enumerate(stems) if s == atom.terms[0])
        elif atom.kind == "prefix":
            hits.update(i for i, s in enumerate(stems) if s.startswith(atom.terms[0]))
        else:
            n = len(atom.terms)
            for i in range(len(stems) - n + 1):
                if all(stems[i + k] == atom.terms[k] for k in range(n)):
                    hits.update(range(i, i + n))
    return hits


def snippet(text: str, query: Query, language: str | None = None, window: int = WINDOW_WORDS,
            analyzed: tuple[list[tuple[int, int]], list[str]] | None = None,
            hits: set[int] | None = None) -> tuple[str, list[str]]:
    """(HTML snippet around the first match, the matched words in order), analyzed as the index did
    (by the segment's ``language``). ``analyzed``: ``words(text, language)`` when the caller has it
    already, and ``hits``: ``matched_words`` of it (the alerts stage snippets one segment for many
    queries, with its own index of the segment's words)."""
    spans, stems = analyzed or words(text, language)
    hits = sorted(matched_words(stems, query) if hits is None else hits)
    if not spans:
        return escape(text), []
    first = hits[0] if hits else 0
    lo = max(0, first - window // 3)
    hi = min(len(spans), lo + window)
    start = 0 if lo == 0 else spans[lo][0]
    end = len(text) if hi == len(spans) else spans[hi - 1][1]
    parts, cursor = [], start
    for i in hits:
        if i < lo or i >= hi:
            continue
        a, b = spans[i]
        parts.append(escape(text[cursor:a]))
        parts.append(f"<mark>{escape(text[a:b])}</mark>")
        cursor = b
    parts.append(escape(text[cursor:end]))
    html = ("… " if start > 0 else "") + "".join(parts) + (" …" if end < len(text) else "")
    return html, [text[a:b] for a, b in (spans[i] for i in hits)]
