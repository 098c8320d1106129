"""The shared text analyzer: one tokenization, folding and stemming for every search backend.

FTS5 has no Russian stemmer and no ``ё`` folding, and Elasticsearch's analyzers differ from
both, so Sanarip analyzes text in Python and hands the engines ready-made tokens: one stem per
word (Snowball: Russian for Cyrillic words, English for Latin ones). Words and phrases match
stems; a prefix query ``p*`` matches words whose stem begins with the stem of ``p`` (Snowball
only trims endings, so ``налог*`` finds налог, налоги, налоговый). Kyrgyz words are Cyrillic
and go through the Russian stemmer, which only trims common endings; they stay case-folded
and prefix-searchable.
"""

from __future__ import annotations

import re

import Stemmer

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_STEMMERS = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}


def fold(text: str) -> str:
    """Case-fold and treat ``ё`` as ``е``."""
    return text.casefold().replace("ё", "е")


_STEMS: dict[str, str] = {}


def stem_word(word: str) -> str:
    """The stem of one word: folded, then stemmed by the Snowball stemmer of its script (memoized:
    vocabularies are Zipfian, and every hit's text is analyzed again for its snippet)."""
    stem = _STEMS.get(word)
    if stem is None:
        folded = fold(word)
        stem = (_STEMMERS["ru"] if CYRILLIC_RE.search(folded) else _STEMMERS["en"]).stemWord(folded)
        if len(_STEMS) < 500_000:
            _STEMS[word] = stem
    return stem


def words(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The character span and the stem of every word of ``text``."""
    known = _STEMS.get
    spans = [m.span() for m in WORD_RE.finditer(text)]
    return spans, [known(w) or stem_word(w) for w in (text[a:b] for a, b in spans)]


def stems(text: str) -> list[str]:
    """The stem of every word of ``text``."""
    known = _STEMS.get
    return [known(w) or stem_word(w) for w in WORD_RE.findall(text)]


def index_text(text: str) -> str:
    """The stems of ``text``, space-separated: what the search engines index."""
    return " ".join(stems(text))
