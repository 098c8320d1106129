"""The UI catalogs: every string pybabel extracts is translated into Russian and Kyrgyz, and
pages pick their language from the cookie, then Accept-Language, else Kyrgyz."""

import ast
import json
import os
import re
import shutil
from html import unescape
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


# --- messages of page scripts and Python code -------------------------------------------------
STATIC = ROOT / "web" / "static"
SCRIPT_KEY = re.compile(r"""\bt\(\s*["']([\w.]+)["']""")
STRING = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`""")
# A literal that reads as a sentence ("Saved ✓", `Error ${status}`) is a message a person reads.
PROSE = re.compile(r"^.[A-Z][a-z]+[ ,:].*[a-z]|✓")
USER_FACING_CALLS = {"abort", "unauthorized", "too_many", "error_response", "TooManyRequests"}
USER_FACING_KEYWORDS = {"error", "message"}


def page_scripts() -> list[Path]:
    return sorted(p for p in STATIC.glob("*.js") if p.name != "i18n.js")


def test_every_script_message_is_in_the_js_catalog(client):
    """Page scripts read web/jsmessages.py's catalog; the editor its own (web/clerk.py's editor_messages)."""
    from web.clerk import editor_messages
    from web.jsmessages import MESSAGES, PLURALS

    with client.application.test_request_context():
        editor_keys = set(editor_messages())
    editor = STATIC / "editor.js"
    missing = sorted(set(SCRIPT_KEY.findall(editor.read_text())) - editor_keys)
    assert not missing, f"editor.js uses message keys that editor_messages() lacks: {missing}"
    used = {key for path in page_scripts() if path != editor for key in SCRIPT_KEY.findall(path.read_text())}
    assert used, "no t(…) calls found: the scripts were not read"
    missing = sorted(used - set(MESSAGES) - set(PLURALS))
    assert not missing, f"scripts use message keys that web/jsmessages.py lacks: {missing}"
    unused = sorted((set(MESSAGES) | set(PLURALS)) - used)
    assert not unused, f"web/jsmessages.py holds keys no script uses: {unused}"


def test_scripts_hold_no_literal_messages():
    found = []
    for path in page_scripts():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("//", 1)[0] if not line.lstrip().startswith("//") else ""
            found += [f"{path.name}:{n}: {m.group(0)}" for m in STRING.finditer(code) if PROSE.search(m.group(0))]
    assert not found, "messages in scripts (add them to web/jsmessages.py, use t(key)):\n" + "\n".join(found)


def _literal(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                               and bool(node.value.strip()))


def test_python_messages_for_people_are_translatable():
    """A literal message handed to abort(), an error body or a page's error/message is not translated."""
    found = []
    for path in sorted((ROOT / "web").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            args = node.args if name in USER_FACING_CALLS else []
            args = args + [k.value for k in node.keywords if k.arg in USER_FACING_KEYWORDS]
            found += [f"{path.name}:{a.lineno}: {ast.unparse(a)[:80]}" for a in args if _literal(a)]
        for node in ast.walk(ast.parse(path.read_text())):  # message = "…" / message, status = "…", 400
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in USER_FACING_KEYWORDS
                                                    or isinstance(t, ast.Tuple) and any(
                                                        getattr(e, "id", None) in USER_FACING_KEYWORDS for e in t.elts)
                                                    for t in node.targets):
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                found += [f"{path.name}:{v.lineno}: {ast.unparse(v)[:80]}" for v in values if _literal(v)]
    assert not found, "untranslated messages (wrap them in _()):\n" + "\n".join(found)


@pytest.mark.parametrize(("lang", "copied", "forms"), [
    ("ru", "Ссылка скопирована", {"one": "1 совпадение", "few": "3 совпадения", "many": "5 совпадений"}),
    ("ky", "Шилтеме көчүрүлдү", {"one": "1 дал келүү", "other": "7 дал келүү"}),
    ("en", "Link copied", {"one": "1 match", "other": "7 matches"}),
])
def test_pages_hand_scripts_their_messages_in_the_page_language(client, lang, copied, forms):
    html = client.get("/search", headers={"Accept-Language": lang}).get_data(as_text=True)
    raw = re.search(r'<body data-messages="([^"]*)"', html).group(1)
    messages = json.loads(unescape(raw))
    assert messages["copied"] == copied
    assert set(messages["matches"]) == set(forms) | ({"other"} if lang == "ru" else set())
    for category, text in forms.items():
        count = text.split()[0]
        assert messages["matches"][category].replace("%(num)s", count) == text
    assert '<script src="/static/i18n.js">' in html


@pytest.mark.parametrize(("lang", "text"), [
    ("ru", "Неверное имя пользователя или пароль."), ("ky", "Колдонуучу аты же сырсөз туура эмес."),
    ("en", "Wrong username or password.")])
def test_login_errors_follow_the_page_language(client, lang, text):
    page = client.get("/login", headers={"Accept-Language": lang}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": "nobody", "password": "wrong password", "csrf_token": token},
                       headers={"Accept-Language": lang})
    assert resp.status_code == 401 and text in resp.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "text"), [("ru", "должно быть целым числом"), ("ky", "бүтүн сан болушу керек")])
def test_error_details_follow_the_page_language(client, lang, text):
    resp = client.get("/search?q=x&page=x", headers={"Accept-Language": lang})
    assert resp.status_code == 400 and text in resp.get_data(as_text=True)
