"""The messages page scripts show, translated on the server and handed to them as JSON.

One mechanism for every script: each page's ``<body data-messages>`` holds this catalog in the
page's language (pybabel extracts the ``N_`` marks below like any ``_()``), and
``static/i18n.js`` looks keys up, filling ``%(name)s`` placeholders. A plural entry carries one
text per CLDR plural category of the language, which the browser picks with ``Intl.PluralRules``:
no plural formula is written twice. ``tests/test_translations.py`` fails on a script's key
that is missing here, and on a literal message in a script.
"""

from __future__ import annotations

import json
from functools import lru_cache

import flask_babel
from babel import Locale


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated when a page is rendered."""
    return message


MESSAGES: dict[str, str] = {
    "agendaSaved": N_("Agenda saved ✓"),
    "agendaSaving": N_("Saving the agenda…"),
    "agendaUnsaved": N_("Agenda not saved"),
    "copied": N_("Link copied"),
    "error": N_("Error %(status)s"),
    "reverted": N_("Reverted ✓"),
    "saved": N_("Saved ✓"),
    "noProposal": N_("No speaker is proposed for these lines."),
    "noLabel": N_("This line has no voice cluster."),
    "badScore": N_("Enter a score from 0 to 1."),
    "autoSpeaker": N_("%(name)s (automatic)"),
    "autoSpeakerHint": N_("Proposed from the voice, not confirmed by a clerk"),
}

def plural_(singular: str, plural: str, n: int = 2) -> tuple[str, str]:
    """Mark a plural pair for extraction (pybabel reads calls named ngettext; see below)."""
    return singular, plural


ngettext = plural_  # the name pybabel's default keywords extract as a plural entry

# (singular, plural) msgids; the browser picks the form by the count
PLURALS: dict[str, tuple[str, str]] = {
    "matches": ngettext("%(num)s match", "%(num)s matches", 2),
    "attributed": ngettext("%(num)s line attributed", "%(num)s lines attributed", 2),
}

SAMPLES = [*range(0, 200), 0.5, 1.5]  # numbers that reach every CLDR plural category


@lru_cache(maxsize=8)
def _category_samples(lang: str) -> dict[str, float]:
    """One number of each plural category of ``lang`` (CLDR), e.g. ru: one 1, few 2, many 0, other 0.5."""
    locale = Locale.parse(lang)
    out: dict[str, float] = {}
    for n in SAMPLES:
        out.setdefault(locale.plural_form(n), n)
    return out


def catalog(lang: str) -> dict[str, object]:
    """The script messages in the current request's language."""
    out: dict[str, object] = {key: flask_babel.gettext(msg) for key, msg in MESSAGES.items()}
    translations = flask_babel.get_translations()  # unformatted: %(num)s stays for the script to fill
    for key, (singular, plural) in PLURALS.items():
        # gettext's forms are for whole numbers; a fraction takes the form of 2 (ru: "1,5 совпадения")
        out[key] = {cat: translations.ngettext(singular, plural, n if isinstance(n, int) else 2)
                    for cat, n in _category_samples(lang).items()}
    return out


def catalog_json(lang: str) -> str:
    return json.dumps(catalog(lang), ensure_ascii=False, sort_keys=True)
