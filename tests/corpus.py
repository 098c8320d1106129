"""A synthetic archive large enough that a broad query costs real work (shared by tests and bench/attack.py)."""

from __future__ import annotations

import random
from pathlib import Path

from search import Document

CONSONANTS = "бвгджзклмнпрстфхцчшщ"
VOWELS = "аеиоуыэюя"
LETTERS = "абвгдежзиклмнопрстуфхцчшэюя"  # 27 one-letter prefixes (with "й" below, 28: the attack)


def documents(count: int, seed: int = 7) -> list[Document]:
    """``count`` segments of 12 pseudo-Russian words each, over a vocabulary of tens of thousands."""
    rng = random.Random(seed)
    syllables = [c + v for c in CONSONANTS for v in VOWELS] + list(VOWELS)
    vocabulary = ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(30_000)]
    docs = []
    for i in range(count):
        text = " ".join(rng.choices(vocabulary, k=12))
        docs.append(Document(segment=100_000 + i, sitting=10_000 + i // 200, committee="budget",
                             day=f"20{20 + i % 6}-0{1 + i % 9}-1{i % 10}", speaker=None, speaker_id=None,
                             language="ru", start=float(i % 200) * 5, end=float(i % 200) * 5 + 5, text=text,
                             official=False))
    return docs


def build(path: Path, count: int) -> Path:
    """An FTS5 index file at ``path`` holding ``count`` synthetic segments."""
    from search.fts5 import Fts5Index

    index = Fts5Index(path)
    docs = documents(count)
    for i in range(0, len(docs), 5000):
        index.add(docs[i:i + 5000])
    index.close()
    return path


def one_letter_attack(variant: int = 0) -> str:
    """The issue's query: 28 one-letter prefixes joined by OR (``variant`` reorders it past a naive cache)."""
    letters = list(LETTERS + "й")
    random.Random(variant).shuffle(letters)
    return " OR ".join(f"{letter}*" for letter in letters)


def worst_allowed(variant: int = 0) -> str:
    """About the costliest query the parser still accepts: the most two-letter prefixes and OR alternatives."""
    rng = random.Random(variant)
    two = [c + v for c in CONSONANTS for v in VOWELS]
    prefixes = [f"{p}*" for p in rng.sample(two, 4)]
    words = rng.sample(two, 4)
    return " OR ".join(prefixes + words)
