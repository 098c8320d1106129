"""Names of stored values (sitting statuses, account roles) as the UI shows them, translated.

The database keeps the English codes; a page shows ``status_label(st.status)`` in its language.
"""

from __future__ import annotations

import flask_babel

from sanarip.sittings import SittingStatus
from web.jsmessages import N_

STATUS_LABELS: dict[str, str] = {
    SittingStatus.SCHEDULED: N_("scheduled"),
    SittingStatus.LIVE: N_("live"),
    SittingStatus.RECORDED: N_("recorded"),
    SittingStatus.TRANSCRIBED: N_("transcribed"),
    SittingStatus.REVIEWED: N_("reviewed"),
    SittingStatus.PUBLISHED: N_("published"),
    SittingStatus.FAILED: N_("failed"),
}

ROLE_LABELS: dict[str, str] = {"clerk": N_("clerk"), "editor": N_("editor"), "admin": N_("admin")}


def status_label(status: str) -> str:
    return flask_babel.gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def role_label(role: str) -> str:
    return flask_babel.gettext(ROLE_LABELS[role]) if role in ROLE_LABELS else role
