"""The shared text analyzer: one tokenization, folding and stemming for every search backend.

FTS5 has no Russian stemmer and no ``ё`` folding, and Elasticsearch's analyzers differ from
both, so Sanarip analyzes text in Python and hands the engines ready-made tokens: one stem per
word (Snowball: Russian for Cyrillic words, English for Latin ones). Words and phrases match
stems; a prefix query ``p*`` matches words whose stem begins with the stem of ``p`` (Snowball
only trims endings, so ``налог*`` finds налог, налоги, налоговый).

Kyrgyz: the Cyrillic words of a segment labelled ``ky`` go through the Kyrgyz suffix stemmer
(``sanarip.kyrgyzstem``) instead of the Russian one. A query word is not labelled, so the
query parser asks for both readings (``variants``): ``бюджетке`` finds бюджет, бюджеттин and the
Russian бюджета. Changing the analyzer changes the stored tokens: run ``sanarip reindex``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from sanarip.kyrgyzstem import kyrgyz_stem

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


_KY_STEMS: dict[str, str] = {}


def stem_kyrgyz(word: str) -> str:
    """The stem of a word of Kyrgyz text: the Kyrgyz stemmer's for a Cyrillic word (never the Russian
    one, which would cut мыйзам to мыйз), the English one for a Latin word."""
    stem = _KY_STEMS.get(word)
    if stem is None:
        folded = fold(word)
        stem = kyrgyz_stem(folded) if CYRILLIC_RE.search(folded) else stem_word(word)
        if len(_KY_STEMS) < 500_000:
            _KY_STEMS[word] = stem
    return stem


def _stemmer(language: str | None):
    if language == "ky":
        return lambda w: _KY_STEMS.get(w) or stem_kyrgyz(w)
    return lambda w: _STEMS.get(w) or stem_word(w)


def words(text: str, language: str | None = None) -> tuple[list[tuple[int, int]], list[str]]:
    """The character span and the stem of every word of ``text`` (written in ``language``, if known)."""
    stem = _stemmer(language)
    spans = [m.span() for m in WORD_RE.finditer(text)]
    return spans, [stem(w) for w in (text[a:b] for a, b in spans)]


def stems(text: str, language: str | None = None) -> list[str]:
    """The stem of every word of ``text`` (written in ``language``, if known)."""
    stem = _stemmer(language)
    return [stem(w) for w in WORD_RE.findall(text)]


def variants(text: str) -> list[tuple[str, ...]]:
    """The distinct stem sequences of query text in each analyzed language (the default, then Kyrgyz)."""
    return list(dict.fromkeys(tuple(stems(text, lang)) for lang in (None, "ky")))


@lru_cache(maxsize=8192)
def analysed(text: str, language: str | None = None) -> tuple[str, ...]:
    """``stems(text, language)``, kept for the most recent texts: the index job analyses a sitting once
    for the index and its alerts pass, and a re-index deletes the tokens it stored the last time."""
    return tuple(stems(text, language))


def index_text(text: str, language: str | None = None) -> str:
    """The stems of ``text``, space-separated: what the search engines index."""
    return " ".join(analysed(text, language))
