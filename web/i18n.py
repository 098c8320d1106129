"""UI languages: Kyrgyz, Russian, English, through Flask-Babel.

The language comes from the ``lang`` cookie (set by the switcher), else Accept-Language,
else Kyrgyz. URLs never change with the language. Translators edit
``web/translations/<lang>/LC_MESSAGES/messages.po``; the ``.mo`` files Flask-Babel reads are
not kept in git but compiled from them at start-up whenever missing or older, so a checkout,
an editable install and an edited catalog all work without a build step.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import flask_babel
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request

from web.jsmessages import catalog_json
from web.labels import role_label, status_label

log = logging.getLogger(__name__)
LANGUAGES = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}
DEFAULT = "ky"
CATALOGS = Path(__file__).parent / "translations"


def compile_catalogs(directory: Path = CATALOGS) -> list[Path]:
    """Compile every ``.po`` under ``directory`` whose ``.mo`` is missing or older (what
    ``pybabel compile`` does; fuzzy entries are left out). Returns the files written."""
    written = []
    for po in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}")
        try:  # atomic: processes starting together never read a half-written file
            with tmp.open("wb") as fh:
                write_mo(fh, catalog)
            os.replace(tmp, mo)
            written.append(mo)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if not mo.exists():  # a read-only install must ship its compiled catalogs
                raise
            log.warning("cannot recompile %s (%s); using the older %s", po, exc, mo.name)
    return written


def pick_language() -> str:
    """Flask-Babel's locale selector: the switcher's cookie, else the browser's choice."""
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES.keys()) or DEFAULT


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(CATALOGS))
    flask_babel.Babel(app, locale_selector=pick_language, configure_jinja=False)

    @app.before_request
    def choose_language() -> None:
        g.lang = str(flask_babel.get_locale())

    # Old-style callables: the translation is plain text that Jinja escapes like any other
    # value (Flask-Babel's newstyle ones would mark it safe and %-format it on every call).
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(flask_babel.gettext, flask_babel.ngettext, newstyle=False)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, js_messages=lambda: catalog_json(g.lang),
                                 status_label=status_label, role_label=role_label)
