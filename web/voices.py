"""The admins' voice profile page: enrol a person's voice from uploaded sample recordings, and
forget a profile. Voice profiles are biometric data, so only admins see this page.

The web process never decodes media or loads the speaker encoder (DESIGN: no ffmpeg, no model
in a request), so an upload is checked here for what needs no decoding (a known person, one to
``MAX_FILES`` non-empty files within the size limits), stored under the private
``work/enrol/<token>/`` prefix and handed to an ``enroll_voice`` job (transcribe/enrolment.py).
The job checks each sample (no speech, under 3 s of speech, not media: one error, nothing
stored), stores the embeddings only and deletes the audio; this page lists recent enrolments
with their outcome in the admin's language.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from sanarip.accounts import audit
from sanarip.errors import NotFound
from sanarip.jobs import JobStatus
from sanarip.models import Job, Person, VoiceProfile
from sanarip.pipeline import EnrolPayload, JobKind
from sanarip.speakers import forget_voice
from web.auth import require_role
from web.deps import runtime

bp = Blueprint("voices", __name__)
MAX_FILES = 10
MAX_FILE_BYTES = 25 << 20  # a few minutes of WAV; compressed media is far smaller
MAX_UPLOAD_BYTES = MAX_FILES * MAX_FILE_BYTES + (1 << 20)
RECENT = 20  # enrolments listed


@bp.url_value_preprocessor
def _allow_uploads(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Raise the app's 1 MB body limit for the enrolment form only. This runs before the
    before-request hooks, whose CSRF check is the first to read the form, so the user is not
    known yet: a request without a session cookie keeps the 1 MB limit (an anonymous client
    cannot make the server read large bodies), and the role is checked before anything is kept."""
    if (endpoint == "voices.voices" and request.method == "POST"
            and current_app.config.get("SESSION_COOKIE_NAME", "session") in request.cookies):
        request.max_content_length = MAX_UPLOAD_BYTES


def _problem_text(problem: dict[str, Any] | None, error: str | None) -> str:
    """A failed enrolment's reason in the page's language (the job records it as a code)."""
    problem = problem or {}
    name = str(problem.get("file", ""))
    code = problem.get("code")
    minimum = f"{float(problem.get('minimum', 3)):g}"
    if code == "no_speech":
        return _("%(file)s: no speech was found; a voice sample needs at least %(min)s s of speech.",
                 file=name, min=minimum)
    if code == "too_short":
        return _("%(file)s: only %(seconds)s s of speech; a voice sample needs at least %(min)s s.",
                 file=name, seconds=problem.get("seconds", 0), min=minimum)
    if code == "not_media":
        return _("%(file)s: not an audio or video file that can be read.", file=name)
    return _("The enrolment failed: %(error)s", error=error or "?")


def _enrolments(s) -> list[dict[str, Any]]:
    jobs = s.scalars(select(Job).where(Job.kind == JobKind.ENROLL_VOICE).order_by(Job.id.desc()).limit(RECENT))
    names = dict(s.execute(select(Person.id, Person.name)).all())
    out = []
    for job in jobs:
        person = (job.payload or {}).get("person")
        if job.status == JobStatus.DONE:
            outcome, text = "stored", _("stored: %(n)s sample(s), %(seconds)s s of speech",
                                      n=job.progress.get("stored", 0), seconds=job.progress.get("seconds", 0))
        elif job.status == JobStatus.DEAD:
            outcome, text = "refused", _problem_text(job.progress.get("problem"), job.error)
        else:
            outcome, text = "waiting", _("waiting for a worker (enroll_voice jobs)")
        out.append({"id": job.id, "person": names.get(person, f"#{person}"), "at": job.created_at,
                    "files": (job.payload or {}).get("names", "").split("\n"), "outcome": outcome, "text": text})
    return out


def _page(message: str | None = None, error: str | None = None, status: int = 200):
    with runtime().db.session(readonly=True) as s:
        counts = dict(s.execute(select(VoiceProfile.person_id, func.count(VoiceProfile.id))
                                .group_by(VoiceProfile.person_id)).all())
        persons = list(s.scalars(select(Person).order_by(Person.name)))
        return render_template("voices.html", persons=persons, counts=counts, enrolments=_enrolments(s),
                               message=message, error=error, max_files=MAX_FILES,
                               max_mb=MAX_FILE_BYTES >> 20), status


def _person_id() -> int:
    raw = request.form.get("person_id", "")
    if not raw.isdigit() or len(raw) > 12:
        abort(400, _("Choose a person."))
    return int(raw)


@bp.route("/admin/voices", methods=["GET", "POST"])
@require_role("admin")
def voices():
    if request.method == "GET":
        return _page()
    action = request.form.get("action")
    if action == "forget":
        return _forget(_person_id())
    if action == "enrol":
        return _enrol(_person_id())
    abort(400, _("Unknown action."))


def _forget(person_id: int):
    try:
        with runtime().db.session() as s:
            n = forget_voice(s, person_id)
            audit(s, g.user.id, "voice.forget", {"person": person_id, "samples": n})
    except NotFound:
        return _page(error=_("No such person."), status=404)
    return _page(message=_("Voice profile deleted: %(n)s sample(s).", n=n))


def _enrol(person_id: int):
    files = [f for f in request.files.getlist("samples") if f.filename]
    if not files:
        return _page(error=_("Choose at least one sample recording."), status=400)
    if len(files) > MAX_FILES:
        return _page(error=_("At most %(n)s files at a time.", n=MAX_FILES), status=400)
    with runtime().db.session(readonly=True) as s:
        if s.get(Person, person_id) is None:
            return _page(error=_("No such person."), status=404)
    blobs = []
    for f in files:
        data = f.read(MAX_FILE_BYTES + 1)
        if not data:
            return _page(error=_("%(file)s is empty.", file=f.filename), status=400)
        if len(data) > MAX_FILE_BYTES:
            return _page(error=_("%(file)s is larger than %(mb)s MB.", file=f.filename, mb=MAX_FILE_BYTES >> 20),
                         status=413)
        blobs.append((f.filename.replace("\n", " ")[:200], data))
    rt = runtime()
    upload = f"work/enrol/{secrets.token_hex(8)}/"
    for n, (_name, data) in enumerate(blobs):
        rt.storage.put_bytes(f"{upload}{n:02d}", data)
    rt.queue.submit(EnrolPayload(person_id, upload, "\n".join(name for name, _d in blobs)))
    with rt.db.session() as s:
        audit(s, g.user.id, "voice.enrol", {"person": person_id, "files": len(blobs)})
    return redirect(url_for("voices.voices", queued=1), code=303)
