"""The Kyrgyz stemmer and the text language identifier, on the lists of ``tests/kyrgyz_lists.py``
(grammar references there)."""

from __future__ import annotations

import pytest

from sanarip.kyrgyzstem import MIN_STEM, kyrgyz_stem
from sanarip.langid import identify, parse_languages
from sanarip.textanalysis import index_text, variants
from tests.kyrgyz_lists import DISTINCT, FORMS, PHRASES

ALL_FORMS = [(lemma, form) for lemma, forms in FORMS.items() for form in forms.split()]


def test_the_list_is_long_enough():
    assert len(ALL_FORMS) >= 60


@pytest.mark.parametrize(("lemma", "form"), ALL_FORMS)
def test_every_form_stems_to_its_lemma(lemma, form):
    assert kyrgyz_stem(form) == kyrgyz_stem(lemma)  # отурум itself is cut to отур (its -ум read as "my"): same stem


@pytest.mark.parametrize(("a", "b"), DISTINCT)
def test_derivations_and_short_roots_keep_their_own_stems(a, b):
    assert kyrgyz_stem(a) != kyrgyz_stem(b)


def test_never_below_the_minimum_stem():
    for word in ("үйдө", "элдин", "мага", "суу", "жерге"):
        assert len(kyrgyz_stem(word)) >= MIN_STEM or kyrgyz_stem(word) == word


def test_analyzer_uses_the_kyrgyz_stemmer_for_kyrgyz_segments_and_both_for_queries():
    assert index_text("Бюджеттин долбоору", "ky") == "бюджет долбоор"
    assert index_text("Бюджеттин долбоору") != "бюджет долбоор"  # unlabelled text: the Russian stemmer
    assert index_text("Мыйзам", "ky") == "мыйзам"  # not the Russian мыйз
    assert ("бюджет",) in variants("бюджетке") and len(variants("бюджет")) == 1


@pytest.mark.parametrize(("lang", "phrase"), [(lang, p) for lang, ps in PHRASES.items() if lang != "kk" for p in ps])
def test_text_language_among_the_parliaments_languages(lang, phrase):
    assert identify(phrase, ("ky", "ru", "en"))[0] == lang


@pytest.mark.parametrize("phrase", PHRASES["kk"])
def test_kazakh_letters_mark_kazakh_when_the_committee_allows_it(phrase):
    assert identify(phrase, ("ky", "kk", "ru", "en"))[0] == "kk"


def test_kyrgyz_letters_and_short_text():
    assert identify("Өкмөт", ("ky", "ru", "en")) == ("ky", 1.0)  # ө: Kyrgyz (Kazakh not allowed here)
    assert identify("Көп рахмат", ("ky", "kk", "ru", "en")) == ("ky", 1.0)  # ө without ә ғ қ ұ һ і: not Kazakh
    assert identify("Мәселе", ("ky", "ru", "en")) == ("ky", 1.0)  # Kazakh letters, Kazakh not allowed: Kyrgyz
    assert identify("Ок", ("ky", "ru", "en")) == (None, 0.0)  # too short to tell
    assert identify("ага", ("ru",)) == ("ru", 1.0)  # one language: nothing to decide


def test_committee_languages_are_validated():
    assert parse_languages(None) == ("ky", "ru", "en")
    assert parse_languages(" ru, EN ") == ("ru", "en")
    with pytest.raises(ValueError, match="not a language code"):
        parse_languages("ky,русский")
