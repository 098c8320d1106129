"""The texts of alert and confirmation e-mails, in the subscriber's language, plain text and HTML.

The strings are the web UI's: pybabel extracts them from here too (``babel.cfg``) into
``web/translations/<lang>/LC_MESSAGES/messages.po``, and they are read from those catalogs at
run time (the core cannot import Flask-Babel's request-bound gettext). Everything that comes
from outside — queries, names, snippets — is escaped in the HTML part; snippets arrive escaped
with ``<mark>`` only, and lose the marks in the plain-text part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGS = Path(__file__).resolve().parent.parent / "web" / "translations"
TAG_RE = re.compile(r"<[^>]*>")


@lru_cache(maxsize=8)
def translator(lang: str) -> Callable[[str], str]:
    """``gettext`` for ``lang`` from the UI catalog (English, the msgids, when there is none)."""
    po = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.is_file():
        return lambda msgid: msgid
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)

    def gettext(msgid: str) -> str:
        message = catalog.get(msgid)
        return message.string if message is not None and message.string and not message.fuzzy else msgid

    return gettext


@dataclass(frozen=True)
class Passage:
    """One match as the message shows it."""

    committee: str
    day: str
    speaker: str | None
    start: float
    snippet: str  # HTML-escaped, <mark> around the matched words
    link: str
    live: bool = False


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


def plain(snippet_html: str) -> str:
    return html.unescape(TAG_RE.sub("", snippet_html))


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def describe(lang: str, target: str, name: str) -> str:
    """What a subscription follows, in words: «a search», a deputy or a committee by name."""
    _ = translator(lang)
    if target == "search":
        return _("the search") + f" «{name}»"
    if target == "person":
        return _("the deputy") + f" {name}"
    return _("the committee") + f" {name}"


def _page(body: str, lang: str) -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"></head>'
            f'<body style="font-family:sans-serif;max-width:40em">{body}</body></html>')


def confirmation(lang: str, what: str, confirm_url: str, hours: float) -> Composed:
    _ = translator(lang)
    subject = _("Confirm your Sanarip alert")
    intro = _("Someone, probably you, asked Sanarip to send alerts to this address for:")
    action = _("To start the alerts, open this link (it works for %(hours)s hours):") % {"hours": f"{hours:g}"}
    ignore = _("If it was not you, ignore this message: nothing will be sent.")
    text = f"{intro}\n{what}\n\n{action}\n{confirm_url}\n\n{ignore}\n"
    body = (f"<p>{html.escape(intro)}<br><strong>{html.escape(what)}</strong></p>"
            f'<p>{html.escape(action)}<br><a href="{html.escape(confirm_url)}">{html.escape(confirm_url)}</a></p>'
            f"<p>{html.escape(ignore)}</p>")
    return Composed(subject, text, _page(body, lang))


def _listing(lang: str, what: str, passages: list[Passage], unsubscribe_url: str, heading: str,
             level: str) -> tuple[list[str], list[str]]:
    """The plain-text and HTML parts of one subscription's passages, with why and how to stop."""
    _ = translator(lang)
    live_note = _("live draft, may change")
    open_label = _("Open at this moment")
    text_parts = [heading, ""]
    html_parts = [f'<{level} style="font-size:1.2em">{html.escape(heading)}</{level}>']
    for p in passages:
        where = " · ".join(filter(None, (p.committee, p.day, clock(p.start), p.speaker,
                                         live_note if p.live else None)))
        text_parts += [where, plain(p.snippet), p.link, ""]
        html_parts.append(f"<p><small>{html.escape(where)}</small><br>{p.snippet}<br>"
                          f'<a href="{html.escape(p.link)}">{html.escape(open_label)}</a></p>')
    why = _("You receive this because you follow %(what)s.") % {"what": what}
    stop = _("Unsubscribe with one click:")
    text_parts += ["--", why, f"{stop} {unsubscribe_url}"]
    html_parts.append(f"<hr><p><small>{html.escape(why)} {html.escape(stop)} "
                      f'<a href="{html.escape(unsubscribe_url)}">{html.escape(unsubscribe_url)}</a></small></p>')
    return text_parts, html_parts


def alert(lang: str, what: str, passages: list[Passage], unsubscribe_url: str, digest: bool) -> Composed:
    """One message for all of a subscription's new passages (immediately, or a day's digest)."""
    _ = translator(lang)
    heading = (_("New passages today for %(what)s") if digest else _("New passages for %(what)s")) % {"what": what}
    text_parts, html_parts = _listing(lang, what, passages, unsubscribe_url, heading, "h1")
    return Composed(f"Sanarip: {heading} ({len(passages)})", "\n".join(text_parts) + "\n",
                    _page("".join(html_parts), lang))


@dataclass(frozen=True)
class Section:
    """One subscription's part of an address's daily digest."""

    what: str
    passages: list[Passage]
    unsubscribe_url: str


def digest(lang: str, sections: list[Section]) -> Composed:
    """An address's daily digest: one section per subscription, each with its own unsubscribe link
    (a single section reads as that subscription's own digest)."""
    if len(sections) == 1:
        only = sections[0]
        return alert(lang, only.what, only.passages, only.unsubscribe_url, digest=True)
    _ = translator(lang)
    heading = _("Your alerts today")
    text_parts, html_parts = [heading, ""], [f'<h1 style="font-size:1.3em">{html.escape(heading)}</h1>']
    for section in sections:
        title = _("New passages today for %(what)s") % {"what": section.what}
        text, body = _listing(lang, section.what, section.passages, section.unsubscribe_url, title, "h2")
        text_parts += [*text, ""]
        html_parts += body
    count = sum(len(section.passages) for section in sections)
    return Composed(f"Sanarip: {heading} ({count})", "\n".join(text_parts) + "\n", _page("".join(html_parts), lang))
