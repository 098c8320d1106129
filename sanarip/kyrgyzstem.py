"""A light Kyrgyz suffix stemmer: ``бюджеттин``, ``бюджетке``, ``бюджеттер`` → ``бюджет``.

Kyrgyz is agglutinative: a noun is stem + plural + possessive + case, each suffix in variants
chosen by vowel harmony (а/ы, е/и, о/у, ө/ү) and by the sound before it (л/д/т, н/д/т, г/к).
The stemmer removes at most one case ending, then one possessive, then one plural, from the
end, trying the longest ending of each slot first, and only where the ending's first sound may
follow the stem's last (``_fits``: ``-ке`` after a voiceless consonant, ``-ны`` after a vowel …,
which keeps ``экономика`` and ``жыйыны`` whole); a few verbal endings (past participle, past
tense, verbal noun, converb) share the case slot. It never leaves fewer than ``MIN_STEM``
letters or a stem without a vowel, and does not touch derivational suffixes (-чы, -лык), so
``бюджеттик`` stays a word of its own. Words are expected case-folded.
"""

from __future__ import annotations

VOWELS = set("аеёиоөуүыэюя")
VOICELESS = set("кпстфхцчшщ")
POSSESSIVE_VOWELS = set("ыиуү")
MIN_STEM = 3
PREFERRED_STEM = 4


def _variants(*forms: str) -> tuple[str, ...]:
    return tuple(sorted(set(forms), key=len, reverse=True))


# Case endings (and verbal endings that sit in the same last slot), longest first.
CASE = _variants(
    # locative / ablative after a 3rd-person possessive: комитетинде, жыйынынан
    "нда", "нде", "ндо", "ндө", "нан", "нен", "нон", "нөн",
    # genitive
    "нын", "нин", "нун", "нүн", "дын", "дин", "дун", "дүн", "тын", "тин", "тун", "түн",
    # ablative
    "дан", "ден", "дон", "дөн", "тан", "тен", "тон", "төн",
    # dative
    "га", "ге", "го", "гө", "ка", "ке", "ко", "кө",
    # accusative after a 3rd-person possessive: мыйзамын
    "н",
    # accusative (also the past tense 3rd person: -ды, -ди, -ду, -дү, -ты …)
    "ны", "ни", "ну", "нү", "ды", "ди", "ду", "дү", "ты", "ти", "ту", "тү",
    # locative
    "да", "де", "до", "дө", "та", "те", "то", "тө",
    # verbal: past participle, verbal noun, converb
    "ган", "ген", "гон", "гөн", "кан", "кен", "кон", "көн", "уу", "үү", "оо", "өө", "ып", "ип", "уп", "үп",
)
POSSESSIVE = _variants(
    "ыбыз", "ибиз", "убуз", "үбүз", "быз", "биз", "буз", "бүз",            # 1st plural
    "ыңыз", "иңиз", "уңуз", "үңүз", "ңыз", "ңиз", "ңуз", "ңүз",            # 2nd polite
    "ым", "им", "ум", "үм", "ың", "иң", "уң", "үң",                        # 1st, 2nd singular
    "сы", "си", "су", "сү", "ы", "и", "у", "ү",                            # 3rd person
)
PLURAL = _variants("лар", "лер", "лор", "лөр", "дар", "дер", "дор", "дөр", "тар", "тер", "тор", "төр")


def _fits(stem: str, ending: str) -> bool:
    """Whether ``ending`` may follow ``stem`` by Kyrgyz assimilation: т/к after a voiceless consonant,
    д/г after a vowel or a voiced one, л after a vowel, р or й, н (ны, нын) after a vowel (нда, нан
    after the 3rd-person possessive), a possessive vowel after a consonant, с- and б- after a vowel."""
    last, first = stem[-1], ending[0]
    if first in "тк":
        return last in VOICELESS
    if first in "дг":
        return last not in VOICELESS
    if first == "л":
        return last in VOWELS or last in "рй"
    if first == "н":
        if ending in AFTER_POSSESSIVE:
            return last in POSSESSIVE_VOWELS
        return last in "аеоөяэю" or stem[-2:] in ("уу", "үү", "оо", "өө", "ээ", "аа")
    if first in "сб":
        return last in VOWELS
    if first in VOWELS:
        return last not in VOWELS
    return True


AFTER_POSSESSIVE = frozenset(("нда", "нде", "ндо", "ндө", "нан", "нен", "нон", "нөн", "н"))
DEVOICED = {"г": "к", "б": "п"}  # салык → салыгы, китеп → китеби: a vowel voices the stem's last consonant


def _readings(word: str, slots: tuple[tuple[str, ...], ...], must_strip: bool = False) -> list[str]:
    """Every stem the remaining slots allow, the longest endings' readings first, no ending last
    (``must_strip``: the previous ending only follows a possessive, so this slot may not be empty)."""
    if not slots:
        return [word]
    out: list[str] = []
    for ending in slots[0]:
        if word.endswith(ending):
            stem = word[: -len(ending)]
            if len(stem) >= MIN_STEM and VOWELS & set(stem) and _fits(stem, ending):
                if ending[0] in VOWELS and stem[-1] in DEVOICED:
                    stem = stem[:-1] + DEVOICED[stem[-1]]
                out += _readings(stem, slots[1:], ending in AFTER_POSSESSIVE)
    return out if must_strip else out + _readings(word, slots[1:])


def kyrgyz_stem(word: str) -> str:
    """The stem of a case-folded Kyrgyz word (the word itself when no ending may be removed).

    Of the possible readings the first (longest endings) whose stem keeps ``PREFERRED_STEM``
    letters wins: ``жыйында`` is жыйын + да, not жый + ы + нда."""
    readings = _readings(word, (CASE, POSSESSIVE, PLURAL))
    return next((r for r in readings if len(r) >= PREFERRED_STEM), readings[0])
