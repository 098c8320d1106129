"""Public pages: home, sitting (video + synchronized transcript), search, committee, person."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta

from cachetools import LRUCache, TTLCache, cached
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from sanarip.clips import ClipRange
from sanarip.errors import NotFound
from sanarip.medialayout import build_playlist, main_playlist_key, poster_key
from sanarip.models import Committee, MediaSegment, Publication, Sitting, TranscriptSegment, utcnow
from sanarip.pipeline import PosterPayload
from sanarip.sittings import ARCHIVED, SittingStatus
from sanarip.stenogram import CAPTION_FORMATS, EXPORTERS, Segment, export
from sanarip.transcripts import public_stenogram, shown_publication, transcript_language
from search import SearchResult
from search.base import RESULT_CACHE_SIZE
from web.deps import runtime, search_index
from web.marks import interleave, record_marks
from web.media import public_media_url
from web.views import (
    committee_or_404,
    external_url,
    facet_links,
    int_arg,
    moment_or_range,
    person_or_404,
    search_filters,
    sitting_or_404,
    sort_arg,
    speaking_time,
    version_arg,
)

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)


RECENT_CARDS = 12
POSTER_CHECK_SECONDS = 300  # a missing poster is looked for (and its job queued) at most this often per process


@bp.route("/")
def home():
    """What is live, what is scheduled today (in the configured zone), then the recent sittings as cards."""
    now = utcnow()
    tz = runtime().settings.tz
    local_now = now.astimezone(tz)
    end_of_today = datetime.combine(local_now.date() + timedelta(days=1), time.min, tz)
    with runtime().db.session(readonly=True) as s:
        live = list(s.scalars(select(Sitting).where(Sitting.status == SittingStatus.LIVE)
                              .order_by(Sitting.started_at)))
        upcoming = list(s.scalars(select(Sitting).where(Sitting.status == SittingStatus.SCHEDULED,
                                                        Sitting.scheduled_start > now)
                                  .order_by(Sitting.scheduled_start).limit(20)))
        today = [st for st in upcoming if st.scheduled_start < end_of_today]
        later = [st for st in upcoming if st.scheduled_start >= end_of_today]
        committees = list(s.scalars(select(Committee).order_by(Committee.name)))
        recent = list(s.scalars(select(Sitting).where(Sitting.status.in_(ARCHIVED))
                                .order_by(Sitting.started_at.desc().nullslast(), Sitting.id.desc())
                                .limit(RECENT_CARDS)))
        posters = {st.id: poster_url(st.id) for st in recent}
        return render_template("home.html", live=live, today=today, later=later, committees=committees,
                               recent=recent, posters=posters)


def poster_url(sitting_id: int) -> str | None:
    """The URL of the sitting's poster frame, or None while it has none (a ``poster`` job is queued then)."""
    return _poster_url(runtime().settings.effective_storage, sitting_id)


@cached(TTLCache(maxsize=4096, ttl=POSTER_CHECK_SECONDS), lock=threading.Lock())
def _poster_url(storage: str, sitting_id: int) -> str | None:
    """Keyed by the storage too: one process may serve several data dirs (the tests' apps)."""
    rt = runtime()
    key = poster_key(sitting_id)
    if rt.storage.exists(key):
        return url_for("media.media", key=key)
    try:  # the worker takes the frame; the page shows the card's plain background meanwhile
        rt.queue.submit(PosterPayload(sitting_id))
    except SQLAlchemyError as exc:  # a busy database: try again at the next check
        log.warning("sitting %s: could not queue its poster job (%s)", sitting_id, exc)
    return None


FRAGMENT_CACHE_SIZE = 64
COMMITTEE_LIST_SECONDS = 30


def word_track(seg: Segment) -> tuple[str, str]:
    """A segment's words as display text and each word's start (seconds after the segment's).

    One attribute per segment instead of one element per word keeps a 3-hour page small; the
    player maps a click to the word under the pointer (nth whitespace-separated token).
    """
    tokens, times = [], []
    for w in seg.words:
        for part in w.word.split():
            tokens.append(part)
            times.append(f"{max(0.0, w.start - seg.start):.2f}".rstrip("0").rstrip("."))
    return " ".join(tokens), " ".join(times)


def _transcript_fragment(s, sitting: Sitting, publication: int | None) -> tuple[Markup, Publication | None]:
    """The rendered transcript of a sitting page, cached until the text the public sees changes.

    A 3-hour stenogram is ~30,000 clickable words; rendering them is most of the page's cost.
    The cache key names the publication shown, or for the working copy its row count, newest
    change and highest id (every edit, split, merge and revert moves one of them).
    """
    try:
        pub = shown_publication(s, sitting.id, publication)
    except NotFound:
        abort(404, _("Sitting %(id)s has no published version %(version)s.", id=sitting.id, version=publication))
    if pub is not None:
        version: tuple = ("publication", pub.number)
    else:
        version = tuple(s.execute(select(func.count(), func.max(TranscriptSegment.updated_at),
                                         func.max(TranscriptSegment.id))
                                  .where(TranscriptSegment.sitting_id == sitting.id)).one())
    marks = record_marks(s, sitting)  # agenda headings and vote events change the fragment too
    return _rendered_transcript(s, sitting, pub, version + (repr(marks),), g.lang, marks), pub


# cachetools caches are not thread-safe: each gets a lock, held only around the lookup and the
# store (the render itself runs unlocked; two threads may render the same miss once each).
@cached(LRUCache(FRAGMENT_CACHE_SIZE), key=lambda s, sitting, pub, version, lang, marks: (sitting.id, version, lang),
        lock=threading.Lock())
def _rendered_transcript(s, sitting: Sitting, pub: Publication | None, version: tuple, lang: str,
                         marks: dict) -> Markup:
    stenogram = public_stenogram(s, sitting, pub.number if pub else None)
    return Markup(render_template("_transcript.html", blocks=interleave(stenogram.turns(), marks),
                                  turns=stenogram.turns(), word_track=word_track))


def _sitting_page(sitting_id: int, publication: int | None):
    start, end = moment_or_range()
    span = ClipRange(start, end) if end else None  # ?t=START-END: a range to play and share
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        transcript_html, pub = _transcript_fragment(s, sitting, publication)
        has_media = s.scalar(select(MediaSegment.id).where(MediaSegment.sitting_id == sitting_id,
                                                           MediaSegment.is_gap.is_(False)).limit(1)) is not None
        return render_template("sitting.html", sitting=sitting, publication=pub, transcript_html=transcript_html,
                               start=start or 0.0, has_media=has_media, formats=list(EXPORTERS),
                               version=publication, transcript_lang=transcript_language(s, sitting, pub),
                               marks=record_marks(s, sitting), end=end, range_t=span.text() if span else None,
                               range_url=external_url("public.sitting_page", sitting_id=sitting_id,
                                                      t=span.text()) if span else None)


@bp.route("/s/<int:sitting_id>")
def sitting_page(sitting_id: int):
    return _sitting_page(sitting_id, None)


@bp.route("/s/<int:sitting_id>/v/<int:number>")
def sitting_version(sitting_id: int, number: int):
    """The permanent citation link of a published version."""
    return _sitting_page(sitting_id, number)


@bp.route("/s/<int:sitting_id>/export.<fmt>")
def sitting_export(sitting_id: int, fmt: str):
    if fmt not in EXPORTERS:
        abort(404, _("Unknown format '%(fmt)s'; available: %(formats)s.", fmt=fmt, formats=", ".join(EXPORTERS)))
    version = version_arg()
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        try:
            stenogram = public_stenogram(s, sitting, version)
            body = export(stenogram, fmt)
        except NotFound:
            abort(404, _("Sitting %(id)s has no published version %(version)s.", id=sitting_id, version=version))
        language = stenogram.main_language
    mimetype = EXPORTERS[fmt][1]
    resp = Response(body, mimetype=mimetype)
    if language:  # the file's language (SRT has no attribute for it): the header and ``name.ky.srt``
        resp.headers["Content-Language"] = language
    suffix = f".{language}" if language and fmt in CAPTION_FORMATS else ""
    if fmt != "vtt":
        resp.headers["Content-Disposition"] = f'attachment; filename="sitting-{sitting_id}{suffix}.{fmt}"'
    return resp


@bp.route("/s/<int:sitting_id>/playlist.m3u8")
def playlist(sitting_id: int):
    """The sitting's multivariant playlist (video + subtitle rendition) as a static file.

    A redirect to ``main.m3u8`` in the public media, so every later request of a player (media
    and subtitle playlists, segments) goes to static files. Sittings recorded before the
    rendition existed, and S3 without a public media URL (presigned URLs cannot carry relative
    URIs), get the media playlist built from the database as before.
    """
    rt = runtime()
    main = main_playlist_key(sitting_id)
    url = public_media_url(main)
    if url and rt.storage.exists(main):
        with rt.db.session(readonly=True) as s:
            sitting_or_404(s, sitting_id)
        resp = redirect(url, code=302)
        resp.headers["Cache-Control"] = "public, max-age=60"
        return resp
    with rt.db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sitting_id)
                              .order_by(MediaSegment.seq)))
        final = sitting.status != SittingStatus.LIVE
    if not rows:
        abort(404, _("This sitting has no recorded media yet."))

    def uri(seg: MediaSegment) -> str:
        return rt.storage.media_url(seg.path) or url_for("media.media", key=seg.path)

    resp = Response(build_playlist(rows, final, uri), mimetype="application/vnd.apple.mpegurl")
    resp.headers["Cache-Control"] = "no-cache" if not final else "public, max-age=60"
    return resp


@bp.route("/search")
def search_page():
    query = (request.args.get("q") or "").strip()
    page = int_arg("page", 1, 1, 500)
    filters = search_filters()
    sort = sort_arg()
    context = {"q": query, "filters": filters, "sort": sort, "committees": _committee_choices(), "result": None,
               "error": None}
    if query:
        from search import QueryError

        try:
            result = search_index().search(query, filters, page=page, sort=sort)
        except QueryError as exc:
            context["error"] = str(exc)
            return render_template("search.html", **context), 400
        context.update(result=result, results_html=_results_fragment(result, query))
    return render_template("search.html", **context)


def _committee_choices() -> list[tuple[str, str]]:
    """(slug, name in the page's language) of every committee for the search form, read at most
    once per COMMITTEE_LIST_SECONDS per process (a new committee shows up within that)."""
    return _committee_list(g.lang)


@cached(TTLCache(maxsize=8, ttl=COMMITTEE_LIST_SECONDS), lock=threading.Lock())
def _committee_list(lang: str) -> list[tuple[str, str]]:
    with runtime().db.session(readonly=True) as s:
        return [(c.slug, c.display_name(lang)) for c in s.scalars(select(Committee).order_by(Committee.name))]


def _results_fragment(result: SearchResult, query: str) -> Markup:
    """The rendered hits, facets and pages of a search, kept while the index answers with the
    same (cached) result object: a popular query is rendered once, not once per visitor."""
    return _rendered_results(result, query, g.lang, request.script_root, request.query_string)[1]


@cached(LRUCache(RESULT_CACHE_SIZE), key=lambda result, query, lang, root, qs: (id(result), lang, root, qs),
        lock=threading.Lock())
def _rendered_results(result: SearchResult, query: str, lang: str, root: str,
                      qs: bytes) -> tuple[SearchResult, Markup]:
    """Keyed by the result's id; the entry holds the result itself, so that id is not reused."""
    with runtime().db.session(readonly=True) as s:
        ids = {h.sitting for h in result.hits}
        titles = dict(s.execute(select(Sitting.id, Sitting.title).where(Sitting.id.in_(ids))).all()) if ids else {}
    return result, Markup(render_template("_search_results.html", result=result, q=query, facet_links=facet_links,
                                          titles=titles, committee_names=dict(_committee_list(lang))))


@bp.route("/c/<slug>")
def committee_page(slug: str):
    page = int_arg("page", 1)
    with runtime().db.session(readonly=True) as s:
        c = committee_or_404(s, slug)
        sittings = list(s.scalars(select(Sitting).where(Sitting.committee_id == c.id)
                                  .order_by(Sitting.scheduled_start.desc().nullslast(), Sitting.id.desc())
                                  .offset((page - 1) * 50).limit(51)))
        return render_template("committee.html", committee=c, sittings=sittings[:50], page=page,
                               more=len(sittings) > 50)


@bp.route("/p/<int:person_id>")
def person_page(person_id: int):
    with runtime().db.session(readonly=True) as s:
        person = person_or_404(s, person_id)
        rows = speaking_time(s, person_id)
        total = sum(row[1] for row in rows)
        return render_template("person.html", person=person, rows=rows, total=timedelta(seconds=round(total)))
