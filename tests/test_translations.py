"""The UI catalogs: every string pybabel extracts is translated into Russian and Kyrgyz, and
pages pick their language from the cookie, then Accept-Language, else Kyrgyz."""

import os
import shutil
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from babel.support import Translations

from sanarip.config import load_settings
from web import create_app
from web.i18n import CATALOGS, compile_catalogs

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("ru", "ky")  # English is the msgid itself


def catalog(lang: str):
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    """The msgids of templates and Python code, as ``pybabel extract -F babel.cfg`` finds them."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot),
                                str(ROOT)])
    with open(pot, "rb") as fh:
        ids = {m.id for m in read_po(fh) if m.id}
    assert len(ids) > 100  # the templates were read, not skipped
    return ids


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_extracted_string_is_in_the_catalog(lang, extracted):
    ids = {m.id for m in catalog(lang) if m.id}
    missing = sorted(extracted - ids)
    assert not missing, f"{lang}: not in the catalog (run pybabel update, see README): {missing}"
    stale = sorted(ids - extracted)
    assert not stale, f"{lang}: no longer used (run pybabel update, see README): {stale}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_untranslated_or_fuzzy_entries(lang):
    cat = catalog(lang)
    assert not cat.fuzzy, f"{lang}: the catalog header is marked fuzzy (pybabel compile would skip it)"
    messages = [m for m in cat if m.id]
    untranslated = [m.id for m in messages if not all(m.string if isinstance(m.string, tuple) else (m.string,))]
    assert not untranslated, f"{lang}: untranslated: {untranslated}"
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not fuzzy, f"{lang}: fuzzy (check the translation, then remove the flag): {fuzzy}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check()]
    assert not problems, f"{lang}: {problems}"


def test_catalogs_compile_when_missing_or_older(tmp_path):
    po = tmp_path / "ru" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(CATALOGS / "ru" / "LC_MESSAGES" / "messages.po", po)
    assert compile_catalogs(tmp_path) == [po.with_suffix(".mo")]
    assert Translations.load(tmp_path, ["ru"]).gettext("Search") == "Поиск"
    assert compile_catalogs(tmp_path) == []  # up to date: left alone
    po.write_text(po.read_text().replace('msgstr "Поиск"', 'msgstr "Искать"'))
    mo_time = po.with_suffix(".mo").stat().st_mtime
    os.utime(po, (mo_time + 1, mo_time + 1))
    assert compile_catalogs(tmp_path) == [po.with_suffix(".mo")]
    assert Translations.load(tmp_path, ["ru"]).gettext("Search") == "Искать"


@pytest.fixture
def client(settings_env):
    return create_app(load_settings(settings_env)).test_client()


@pytest.mark.parametrize(("headers", "cookie", "lang", "text"), [
    ({}, None, "ky", "Стенограммалардан издөө"),  # nothing asked: Kyrgyz
    ({"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}, None, "ru", "Поиск по стенограммам"),
    ({"Accept-Language": "de, en;q=0.5"}, None, "en", "Search the stenograms"),
    ({"Accept-Language": "de"}, None, "ky", "Стенограммалардан издөө"),
    ({"Accept-Language": "ru"}, "en", "en", "Search the stenograms"),  # the switcher's cookie wins
    ({"Accept-Language": "ru"}, "fr", "ru", "Поиск по стенограммам"),  # an unknown cookie is ignored
])
def test_pages_choose_their_language(client, headers, cookie, lang, text):
    if cookie:
        client.set_cookie("lang", cookie)
    html = client.get("/search", headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and f"<h1>{text}</h1>" in html


def test_switcher_sets_the_cookie(client):
    resp = client.get("/lang/ru?next=/search")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/search")
    assert "Поиск по стенограммам" in client.get("/search", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert client.get("/lang/xx").status_code == 400
