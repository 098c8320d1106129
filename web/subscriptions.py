"""Alerts for anyone, without an account: subscribe (API and page form), confirm, unsubscribe.

``POST /api/v1/subscriptions`` takes anonymous JSON (a browser cannot send JSON across sites
without a CORS preflight, which this site never grants) and answers 202; the pages' form posts
to ``/subscriptions`` and is checked by origin (``web.security.same_origin``), so neither needs
a session or sets a cookie. The links in the e-mails carry a secret token: a GET shows a
button, the POST acts (mail scanners that fetch links change nothing), and the unsubscribe POST
is RFC 8058's one-click target. Per-address and per-recipient rate limits keep the form from
becoming a way to mail-bomb someone.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Blueprint, abort, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from sanarip.errors import NotFound, SanaripError
from sanarip.models import Subscription
from sanarip.outbox import add_confirmation, queue_mail, target_name
from sanarip.subscriptions import (
    Mode,
    by_unsubscribe_token,
    confirm,
    parse_request,
    pending_confirmation,
    subscribe,
    subscription_dict,
    unsubscribe,
)
from sanarip.throttle import window_hit
from search.query import parse
from web.auth import require_role
from web.deps import runtime
from web.limits import client_address, too_many
from web.security import csrf_exempt, require_same_origin

bp = Blueprint("subscriptions", __name__)
HOUR, DAY = 3600.0, 86400.0
PER_RECIPIENT_PER_DAY = 5  # confirmation messages one address may be sent a day
MAX_TOKEN = 100


def _throttle(email: str) -> None:
    """429 past the per-client-address limit (an hour) or the per-recipient limit (a day)."""
    settings = runtime().settings
    recipient = hashlib.sha256(email.lower().encode()).hexdigest()[:32]  # not the address itself
    with runtime().db.session() as s:
        by_address = window_hit(s, f"subscribe:{client_address()}", settings.subscribe_rate_limit, HOUR) \
            if settings.subscribe_rate_limit else 0.0
        by_recipient = window_hit(s, f"subscribe-to:{recipient}", PER_RECIPIENT_PER_DAY, DAY)
    if by_address:
        raise too_many(by_address, _("Too many subscription requests from your address."))
    if by_recipient:
        raise too_many(by_recipient, _("Too many confirmation messages for this e-mail address today."))


def _create(data: dict) -> str:
    """Validate, store and queue the confirmation; returns what the subscription follows, in words."""
    data = dict(data)
    data.setdefault("language", g.get("lang") or "ky")
    req = parse_request(data, check_query=parse)
    _throttle(req.email)
    rt = runtime()
    with rt.db.session() as s:
        sub, token = subscribe(s, req)
        add_confirmation(s, rt.settings, sub, token)
        what = target_name(s, sub)
    queue_mail(rt.queue)
    return what


@bp.route("/api/v1/subscriptions", methods=["POST"])
@csrf_exempt
def api_subscribe():
    if not request.is_json:
        abort(415, "Send the subscription as JSON (Content-Type: application/json).")
    origin = request.headers.get("Origin")
    if origin:  # a page elsewhere cannot subscribe its visitors in their name
        require_same_origin(runtime().settings.base_url)
    data = request.get_json(silent=True)
    if data is None:
        abort(400, "The body is not valid JSON.")
    try:
        _create(data)
    except NotFound:
        raise
    except SanaripError as exc:  # a bad field, a query that does not parse, text with control characters
        abort(400, str(exc))
    return jsonify({"status": "pending", "message": "Check your inbox: the alerts start once you open the "
                    "confirmation link we sent."}), 202


@bp.route("/api/v1/subscriptions", methods=["GET"])
@require_role("admin")
def api_list():
    from web.api import page_of

    return page_of(select(Subscription).order_by(Subscription.id), subscription_dict, "subscriptions.api_list")


def _form_data() -> dict:
    form = request.form
    data: dict = {"email": form.get("email", ""), "mode": form.get("mode") or Mode.IMMEDIATE,
                  "draft": form.get("draft") in ("1", "on", "true"), "language": g.get("lang") or "ky"}
    if form.get("query"):
        data["query"] = form["query"]
        data["filters"] = {k[7:]: v for k, v in form.items() if k.startswith("filter_") and v}
    elif form.get("person_id"):
        try:
            data["person_id"] = int(form["person_id"])
        except ValueError:
            data["person_id"] = form["person_id"]
    elif form.get("committee"):
        data["committee"] = form["committee"]
    return data


@bp.route("/subscriptions", methods=["POST"])
@csrf_exempt
def form_subscribe():
    require_same_origin(runtime().settings.base_url)
    try:
        what = _create(_form_data())
    except NotFound:
        raise
    except SanaripError as exc:
        return render_template("subscription.html", heading=_("Alert not set up"), message=str(exc), error=True,
                               what=None, action=None), 400
    return render_template("subscription.html", heading=_("Check your inbox"), what=what, action=None,
                           message=_("We sent you a link: the alerts start once you open it."), error=False), 202


def _token(token: str) -> str:
    if len(token) > MAX_TOKEN:
        abort(404, "This link is unknown.")
    return token


@bp.route("/subscriptions/confirm/<token>", methods=["GET", "POST"])
@csrf_exempt
def confirm_page(token: str):
    rt = runtime()
    lifetime = timedelta(hours=rt.settings.alert_confirm_hours)
    with rt.db.session() as s:
        if request.method == "GET":
            sub = pending_confirmation(s, _token(token), lifetime)
            return render_template("subscription.html", heading=_("Confirm your alert"), what=target_name(s, sub),
                                   message=_("Confirm that you want these alerts at this address."), error=False,
                                   action=url_for("subscriptions.confirm_page", token=token), button=_("Confirm"))
        sub = confirm(s, _token(token), lifetime)
        what = target_name(s, sub)
    return render_template("subscription.html", heading=_("Your alert is active"), what=what, action=None,
                           message=_("Each alert has a link to stop it with one click."), error=False)


@bp.route("/subscriptions/unsubscribe/<token>", methods=["GET", "POST"])
@csrf_exempt
def unsubscribe_page(token: str):
    with runtime().db.session() as s:
        if request.method == "GET":
            sub = by_unsubscribe_token(s, _token(token))
            return render_template("subscription.html", heading=_("Stop this alert"), what=target_name(s, sub),
                                   message=_("Your address will be deleted with it."), error=False,
                                   action=url_for("subscriptions.unsubscribe_page", token=token),
                                   button=_("Unsubscribe"))
        try:  # RFC 8058: one-click, and repeating it is harmless
            unsubscribe(s, _token(token))
        except SanaripError:
            pass
    return render_template("subscription.html", heading=_("Unsubscribed"), what=None, action=None, error=False,
                           message=_("You will get no more alerts from this subscription; your address is deleted."))
