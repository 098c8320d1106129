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
from dataclasses import dataclass

import Stemmer

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_STEMMERS = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}


@dataclass(frozen=True, slots=True)
class Token:
    word: str  # folded surface form
    stem: str
    start: int  # character offsets in the original text
    end: int


def fold(text: str) -> str:
    """Case-fold and treat ``ё`` as ``е``."""
    return text.casefold().replace("ё", "е")


_STEM_CACHE: dict[str, str] = {}


def stem_word(word: str) -> str:
    """Stem one folded word with the Snowball stemmer of its script (memoized: vocabularies are Zipfian)."""
    stem = _STEM_CACHE.get(word)
    if stem is None:
        stemmer = _STEMMERS["ru"] if CYRILLIC_RE.search(word) else _STEMMERS["en"]
        stem = stemmer.stemWord(word)
        if len(_STEM_CACHE) < 500_000:
            _STEM_CACHE[word] = stem
    return stem


def tokens(text: str) -> list[Token]:
    """Every word of ``text`` with its folded form, stem and offsets."""
    out = []
    for m in WORD_RE.finditer(text):
        word = fold(m.group())
        out.append(Token(word, stem_word(word), m.start(), m.end()))
    return out


def index_text(text: str) -> str:
    """The stems of ``text``, space-separated: what the search engines index."""
    return " ".join([stem_word(fold(w)) for w in WORD_RE.findall(text)])
