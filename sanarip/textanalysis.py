"""The shared text analyzer: one tokenization, folding and stemming for every search backend.

FTS5 has no Russian stemmer and no ``ё`` folding, and Elasticsearch's analyzers differ from
both, so Sanarip analyzes text in Python and hands the engines ready-made tokens:
``stem`` tokens (Snowball: Russian for Cyrillic words, English for Latin ones) for words and
phrases, ``word`` tokens (folded, unstemmed) for prefix queries. Kyrgyz words are Cyrillic and
go through the Russian stemmer, which only trims common endings; they stay case-folded and
prefix-searchable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """Stem one folded word with the Snowball stemmer of its script."""
    stemmer = _STEMMERS["ru"] if CYRILLIC_RE.search(word) else _STEMMERS["en"]
    return stemmer.stemWord(word)


def tokens(text: str) -> list[Token]:
    """Every word of ``text`` with its folded form, stem and offsets."""
    out = []
    for m in WORD_RE.finditer(text):
        word = fold(m.group())
        out.append(Token(word, stem_word(word), m.start(), m.end()))
    return out


def index_fields(text: str) -> tuple[str, str]:
    """(stems, words) as space-separated token strings, aligned position by position."""
    toks = tokens(text)
    return " ".join(t.stem for t in toks), " ".join(t.word for t in toks)
