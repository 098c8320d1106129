"""UI languages: Kyrgyz, Russian, English (gettext catalogs read with Babel).

The language comes from the ``lang`` cookie (set by the switcher), else Accept-Language,
else Kyrgyz. URLs never change with the language. Catalogs are the ``.po`` files under
``web/translations/<lang>/LC_MESSAGES/messages.po``, parsed once at start-up.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask, g, request

LANGUAGES = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}
DEFAULT = "ky"
CATALOGS = Path(__file__).parent / "translations"


class _PoTranslations(gettext.NullTranslations):
    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def load_catalogs() -> dict[str, gettext.NullTranslations]:
    out: dict[str, gettext.NullTranslations] = {}
    for lang in LANGUAGES:
        po = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
        messages: dict[str, str] = {}
        if po.exists():
            with open(po, "rb") as fh:
                catalog = read_po(fh)
            messages = {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}
        out[lang] = _PoTranslations(messages)
    return out


def pick_language() -> str:
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES.keys()) or DEFAULT


def gettext_(message: str, **values) -> str:
    text = g.translations.gettext(message) if "translations" in g else message
    return text % values if values else text


def init_app(app: Flask) -> None:
    catalogs = load_catalogs()
    app.jinja_env.add_extension("jinja2.ext.i18n")

    @app.before_request
    def choose_language() -> None:
        g.lang = pick_language()
        g.translations = catalogs[g.lang]

    # Old-style callables: the translation is plain text that Jinja escapes like any other
    # value (newstyle would mark it safe and %-format it on every call).
    app.jinja_env.install_gettext_callables(
        lambda s: gettext_(s), lambda s, p, n: g.translations.ngettext(s, p, n), newstyle=False
    )
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES)
