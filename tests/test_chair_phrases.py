"""The chair's words name the next speaker: Russian/Kyrgyz case endings, initials, near misses."""

import pytest

from sanarip.speakers import chair_match, propose
from sanarip.stenogram import Segment

PERSONS = [(1, "Иванов Петр Сергеевич"), (2, "Айгуль Токтогулова"), (3, "Жээнбеков Алмазбек"),
           (4, "Maria Ivanova"), (5, "John Smith"), (6, "Иванова Мария Петровна"), (7, "Бакыт Осмонов")]

MATCHES = [
    ("Слово предоставляется депутату Иванову.", 1),
    ("Слово предоставляется депутату Иванову П. С.", 1),
    ("Слово предоставляется депутату Ивановой.", 6),
    ("Предоставляю слово Токтогуловой Айгуль.", 2),
    ("Передаю слово министру Осмонову.", 7),
    ("Слово имеет Жээнбеков.", 3),
    ("Пожалуйста, слово депутату Жээнбекову Алмазбеку.", 3),
    ("Слово для доклада предоставляется Осмонову Бакыту.", 7),
    ("Сөз депутат Жээнбековго берилет.", 3),
    ("Сөз Токтогуловага берилет.", 2),
    ("Урматтуу депутаттар, сөздү Осмоновго беремин.", 7),
    ("Сөз Осмонов мырзага берилет.", 7),
    ("I give the floor to Mr Smith.", 5),
    ("I now give the floor to Deputy Ivanova.", 4),
    ("The floor goes to John Smith.", 5),
    ("I call on Ms Ivanova.", 4),
    ("Слово предоставляется депутату Иванову Петру Сергеевичу.", 1),
]

MISSES = [
    "Депутат Иванов выступил вчера с докладом.",  # a name, but no one is given the floor
    "Слово предоставляется депутату Сидорову.",  # no such person
    "Слово предоставляется депутату Иванову М. П.",  # initials of neither Иванов П. С. nor Иванова М. П. (case)
    "Слово предоставляется.",  # the cue without a name
    "I give the floor to the next speaker.",  # no name
    "Smith said the floor was wet.",  # English near miss
    "Сөз берилет.",  # Kyrgyz cue without a name
    "Мы благодарим Токтогулову за доклад.",  # a name in the dative, not after a cue
    "Слово предоставляется депутату Иваненко.",  # close to Иванов, not a match
]


@pytest.mark.parametrize(("text", "person"), MATCHES)
def test_the_chair_names_the_next_speaker(text, person):
    assert chair_match(text, PERSONS) == next(p for p in PERSONS if p[0] == person)


@pytest.mark.parametrize("text", MISSES)
def test_near_misses_name_no_one(text):
    assert chair_match(text, PERSONS) is None


def test_at_least_twenty_phrases():
    assert len(MATCHES) + len(MISSES) >= 20


def test_the_chair_proposal_goes_to_the_next_turn_only():
    segs = [Segment(0, 2, "Слово предоставляется депутату Осмонову.", speaker_label="S1"),
            Segment(3, 6, "Спасибо, коллеги.", speaker_label="S2"),
            Segment(6, 8, "Еще одно.", speaker_label="S2"),
            Segment(9, 10, "Спасибо.", speaker_label="S1"),
            Segment(11, 12, "Да.", speaker_label="S3")]
    propose(segs, {}, [], PERSONS)
    assert [s.speaker_proposal and s.speaker_proposal["person_id"] for s in segs] == [None, 7, 7, None, None]
    assert segs[1].speaker_proposal["source"] == "chair"
    assert all(s.speaker_id is None for s in segs)  # never confirmed automatically
