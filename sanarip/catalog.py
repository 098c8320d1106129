"""Committees, persons and stream URLs: the small domain operations the CLI and web share."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from sanarip.errors import NotFound, SanaripError
from sanarip.languages import check_language
from sanarip.models import Committee, Person
from sanarip.texthygiene import checked_text

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
STREAM_SCHEMES = ("http", "https", "rtmp", "rtmps", "rtsp", "rtsps", "srt", "file")


def validate_stream_url(url: str) -> str:
    """Return ``url`` if it is a stream URL Sanarip can record; else raise SanaripError."""
    parsed = urlparse(url)
    if parsed.scheme not in STREAM_SCHEMES or (parsed.scheme != "file" and not parsed.netloc):
        raise SanaripError(f"malformed stream URL {url!r}: expected {', '.join(STREAM_SCHEMES)}:// with a host")
    return url


def add_committee(
    s: Session,
    slug: str,
    name: str,
    stream_url: str | None = None,
    language: str = "ru",
    names: dict[str, str] | None = None,
) -> Committee:
    if not SLUG_RE.match(slug):
        raise SanaripError(f"invalid committee slug {slug!r}: use lowercase letters, digits and '-'")
    if not name.strip():
        raise SanaripError("committee name must not be empty")
    checked_text(name, "name")
    for lang, local in (names or {}).items():
        checked_text(local, f"names.{lang}")
    check_language(language, "--language")
    if stream_url:
        validate_stream_url(stream_url)
    if s.scalar(select(Committee).where(Committee.slug == slug)):
        raise SanaripError(f"committee {slug!r} exists already")
    committee = Committee(slug=slug, name=name.strip(), stream_url=stream_url, default_language=language,
                          names=names or {})
    s.add(committee)
    s.flush()
    return committee


def get_committee(s: Session, slug: str) -> Committee:
    committee = s.scalar(select(Committee).where(Committee.slug == slug))
    if committee is None:
        known = ", ".join(s.scalars(select(Committee.slug).order_by(Committee.slug))) or "none yet"
        raise NotFound(
            f"unknown committee {slug!r} (known: {known}); add it with: sanarip committee add {slug} --name NAME"
        )
    return committee


def committee_dict(c: Committee) -> dict[str, Any]:
    return {"slug": c.slug, "name": c.name, "names": c.names or {}, "stream_url": c.stream_url,
            "default_language": c.default_language}


def list_committees(s: Session) -> list[Committee]:
    return list(s.scalars(select(Committee).order_by(Committee.slug)))


def add_person(s: Session, name: str, faction: str | None = None, role: str | None = None) -> Person:
    if not name.strip():
        raise SanaripError("name must not be empty")
    for field, value in (("name", name), ("faction", faction), ("role", role)):
        if value is not None:
            checked_text(value, field)
    person = Person(name=" ".join(name.split()), faction=faction, role=role)
    s.add(person)
    s.flush()
    return person


def person_dict(p: Person) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "faction": p.faction, "role": p.role}


def resolve_platform_url(url: str) -> str:
    """A stream URL; platform pages (YouTube live …) are resolved to HLS with yt-dlp when installed."""
    validate_stream_url(url)
    host = urlparse(url).netloc.lower()
    if not any(p in host for p in ("youtube.com", "youtu.be", "facebook.com", "twitch.tv", "vk.com")):
        return url
    try:
        import yt_dlp
    except ImportError:
        raise SanaripError(f"{url} is a platform page; install the 'platforms' extra (yt-dlp) to record it") from None
    with yt_dlp.YoutubeDL({"quiet": True, "format": "best[protocol^=m3u8]/best"}) as ydl:
        info = ydl.extract_info(url, download=False)
    return info["url"]


def configure_committee(s: Session, c: Committee, stream_url: str | None = None,
                        fallback_language: str | None = None, model: str | None = None) -> None:
    """Set the given settings ('none' clears fallback_language and model)."""
    if stream_url is not None:
        c.stream_url = validate_stream_url(stream_url)
    if fallback_language is not None:
        if fallback_language != "none":
            check_language(fallback_language, "--fallback-language")
        c.fallback_language = None if fallback_language == "none" else fallback_language
    if model is not None:
        c.model = None if model == "none" else model
