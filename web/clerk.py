"""The clerks' editor and write API (filled in by the clerks issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clerk", __name__)
