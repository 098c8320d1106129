"""Front-end packages installed by npm (hls.js, axe-core), served by Sanarip itself: no CDN."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory
from flask_babel import gettext as _

from web import ROOT

bp = Blueprint("vendor", __name__)
FILES = {
    "hls.min.js": ROOT / "node_modules" / "hls.js" / "dist",
    "axe.min.js": ROOT / "node_modules" / "axe-core",
}


@bp.route("/static/vendor/<name>")
def vendor(name: str):
    folder = FILES.get(name)
    if folder is None or not (folder / name).is_file():
        abort(404, _("%(name)s is not installed: run `npm install` (the README's setup does).", name=name))
    return send_from_directory(folder, name, max_age=86400)
