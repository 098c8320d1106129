"""The clerk's speaker actions: accept proposals (one, or all above a score), one speaker for a
run of segments, and "S3 is Ivanova" for a whole voice cluster. Each changed segment gets a
``speaker`` revision, so the history page shows it as a speaker change. A confirmed speaker's
voice is then learned by a ``learn_voice`` job (the person's profile, capped)."""

from __future__ import annotations

from flask import Blueprint, g

from sanarip.editing import EditError, segment_json
from sanarip.limits import is_id
from sanarip.models import TranscriptSegment
from sanarip.pipeline import VoiceProfilePayload
from sanarip.speakers import accept_proposals, assign_speaker, relabel
from web.auth import require_role
from web.clerk import _json_body, _write
from web.deps import runtime

bp = Blueprint("speakers", __name__)


def _person(body: dict) -> int:
    if not is_id(body.get("person")):
        raise EditError("'person' must be a person id")
    return int(body["person"])


def _changed(s, ids: list[int]) -> dict:
    """The action's answer: the ids changed and those segments as they now are (the editor
    takes their new versions and speakers without reloading)."""
    return {"changed": ids, "segments": [segment_json(s, s.get(TranscriptSegment, i)) for i in ids]}


def _write_and_learn(action, sitting_id: int, people: set[int]):
    """``_write`` the action; once committed (a job queued inside the write's transaction would
    wait on its lock), queue a learn_voice job for each person confirmed."""
    response = _write(action)
    if not isinstance(response, tuple) and response.status_code == 200 and (response.get_json() or {}).get("changed"):
        for pid in sorted(people):
            runtime().queue.submit(VoiceProfilePayload(sitting_id, pid))
    return response


@bp.route("/api/v1/sittings/<int:sitting_id>/speakers/accept", methods=["POST"])
@require_role("clerk")
def accept(sitting_id: int):
    body = _json_body("min_score", "segments")

    def action(s):
        segments = body.get("segments")
        if segments is not None and not (isinstance(segments, list) and all(is_id(x) for x in segments)):
            raise EditError("'segments' must be a list of segment ids")
        score = body.get("min_score", 0.0)
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise EditError("'min_score' must be a number from 0 to 1")
        changed, people = accept_proposals(s, sitting_id, float(score), g.user.id, segments)
        learn.update(people)
        return _changed(s, changed), sitting_id

    learn: set[int] = set()
    return _write_and_learn(action, sitting_id, learn)


@bp.route("/api/v1/sittings/<int:sitting_id>/speakers/assign", methods=["POST"])
@require_role("clerk")
def assign(sitting_id: int):
    body = _json_body("segments", "person")

    def action(s):
        segments = body.get("segments")
        if not (isinstance(segments, list) and segments and all(is_id(x) for x in segments)) or len(segments) > 5000:
            raise EditError("'segments' must be a non-empty list of segment ids")
        return _changed(s, assign_speaker(s, sitting_id, segments, _person(body), g.user.id)), sitting_id

    return _write_and_learn(action, sitting_id, {body["person"]} if is_id(body.get("person")) else set())


@bp.route("/api/v1/sittings/<int:sitting_id>/speakers/relabel", methods=["POST"])
@require_role("clerk")
def relabel_cluster(sitting_id: int):
    body = _json_body("label", "person")

    def action(s):
        label = body.get("label")
        if not isinstance(label, str) or not label.startswith("S") or not label[1:].isdigit() or len(label) > 16:
            raise EditError("'label' must be a speaker label such as S3")
        return _changed(s, relabel(s, sitting_id, label, _person(body), g.user.id)), sitting_id

    return _write_and_learn(action, sitting_id, {body["person"]} if is_id(body.get("person")) else set())
