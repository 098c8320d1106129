"""The files crawlers and browsers ask every site for: /favicon.ico, /robots.txt, /sitemap.xml.

The sitemap lists the home page, each committee and every archived sitting (the citable
record), with absolute URLs on ``SANARIP_BASE_URL``; robots.txt points to it and keeps
crawlers out of the clerks' pages, the search result pages and the media segments.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, send_from_directory
from sqlalchemy import select

from sanarip.clock import local_iso
from sanarip.models import Committee, Sitting
from sanarip.sittings import ARCHIVED
from web.deps import runtime
from web.views import external_url

bp = Blueprint("site", __name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_LIMIT = 50_000  # URLs one sitemap file may hold (sitemaps.org)
PRIVATE = ("/clerk", "/login", "/search", "/api/v1/segments", "/s/*/playlist.m3u8", "/media/")


@bp.route("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)


@bp.route("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE), "",
             f"Sitemap: {external_url('site.sitemap')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.route("/sitemap.xml")
def sitemap():
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")

    def add(loc: str, lastmod: str | None = None) -> None:
        url = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = loc
        if lastmod:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = lastmod

    add(external_url("public.home"))
    with runtime().db.session(readonly=True) as s:
        for slug in s.scalars(select(Committee.slug).order_by(Committee.slug)):
            add(external_url("public.committee_page", slug=slug))
        room = SITEMAP_LIMIT - len(root)
        rows = s.execute(select(Sitting.id, Sitting.ended_at, Sitting.started_at).where(Sitting.status.in_(ARCHIVED))
                         .order_by(Sitting.id.desc()).limit(room)).all()
        for sitting_id, ended, started in rows:
            add(external_url("public.sitting_page", sitting_id=sitting_id), local_iso(ended or started))
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return Response(body, mimetype="application/xml")
