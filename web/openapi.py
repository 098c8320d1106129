"""The OpenAPI 3 document for /api/v1 (every endpoint, read and write), kept true to the code.

``tests/test_api_fuzz.py`` runs schemathesis against a served instance with this document, so
each bound here is one the code enforces: ids and versions fit an id column, pages are bounded,
texts have no control characters, request bodies refuse unknown fields. Every operation may
answer 429 with Retry-After (rate limits apply to any route); every write, and every read of
clerks' data, declares its security.
"""

from __future__ import annotations

from typing import Any

from sanarip.agenda import MAX_ITEMS as MAX_AGENDA_ITEMS
from sanarip.clips import RANGE_RE
from sanarip.editing import MAX_TEXT
from sanarip.limits import MAX_ID, MAX_MEDIA_SECONDS
from sanarip.sittings import SittingStatus
from sanarip.subscriptions import LANGUAGES, MAX_QUERY, Mode, Target
from sanarip.votes import MAX_VOTE_EVENTS, MAX_VOTES, OPTIONS

# A line of text: no control characters (tab and newline allowed), at least one non-space.
NO_CONTROL = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"
TEXT_PATTERN = f"^[^{NO_CONTROL}]*[^\\s{NO_CONTROL}][^{NO_CONTROL}]*$"
ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
SECURITY = [{"bearer": []}, {"session": []}]


def _param(name: str, where: str = "query", schema: dict | None = None, required: bool = False,
           desc: str = "") -> dict:
    param = {"name": name, "in": where, "required": required or where == "path", "description": desc,
             "schema": schema or {"type": "string"}}
    if where == "query" and not required:
        param["allowEmptyValue"] = True  # an empty value is the same as none (HTML forms send them)
    return param


def _id(name: str) -> dict:
    return _param(name, "path", ID)


def _ok(schema: str, desc: str = "OK") -> dict:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": desc, "content": {"application/json": {"schema": ref}}}


def _list(item: str) -> dict:
    return {"type": "object", "required": ["items", "next"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
        "next": {"type": "string", "nullable": True, "description": "URL of the next page, or null"}}}


TOO_MANY = {"description": "Rate limit: retry after the given seconds", "headers": {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 0}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
ERRORS = {"400": _ok("Error", "Bad input"), "404": _ok("Error", "Not found"), "429": TOO_MANY}
SEARCH_BUSY = {**TOO_MANY, "description": "Search busy (every slot and its queue taken: retry after the given "
               "seconds) or unavailable"}
WRITE_ERRORS = {
    **ERRORS, "401": _ok("Error", "No credentials"), "403": _ok("Error", "Wrong role"),
    "409": _ok("Conflict", "Stale version or a state that does not allow this"),
    "413": _ok("Error", "Payload too large"),
    "415": _ok("Error", "The body is not JSON"),
}
CLIP_T = _param("t", required=True, schema={"type": "string", "maxLength": 40, "pattern": f"^{RANGE_RE.pattern}$"},
                desc="The range START-END in seconds or clock values: 754-790, 12:34-13:10, 1:02:03-1:04:00")
PAGING = [_param("page", schema={"type": "integer", "minimum": 1, "maximum": 10_000}, desc="Page number, from 1"),
          _param("per_page", schema={"type": "integer", "minimum": 1, "maximum": 500},
                 desc="Items per page (1-500, default 50)")]


def _get(summary: str, ok: dict, params: list | None = None, errors: dict | None = None,
         secured: bool = False) -> dict:
    op: dict[str, Any] = {"summary": summary, "parameters": params or [],
                          "responses": {"200": ok, **(errors or ERRORS)}}
    if secured:
        op["security"] = SECURITY
    return {"get": op}


def _write(summary: str, ok: dict, params: list, body: str | None = None, status: str = "200") -> dict:
    op: dict[str, Any] = {"summary": summary, "security": SECURITY, "parameters": params,
                          "responses": {status: ok, **WRITE_ERRORS}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op


def _schemas() -> dict[str, Any]:
    obj, num, text, integer, boolean = ({"type": "object"}, {"type": "number"}, {"type": "string"},
                                        {"type": "integer"}, {"type": "boolean"})
    nullable_text = {"type": "string", "nullable": True}
    seconds = {"type": "number", "minimum": 0, "maximum": MAX_MEDIA_SECONDS}
    version = {**ID, "description": "The version of the segment you edited"}
    short = {"type": "string", "maxLength": 300, "pattern": TEXT_PATTERN}
    word = {"type": "object", "properties": {"word": text, "start": num, "end": num, "prob": num}}
    segment = {"type": "object", "properties": {
        "id": integer, "start": num, "end": num, "text": text, "speaker": nullable_text,
        "speaker_id": {"type": "integer", "nullable": True}, "language": nullable_text, "unreliable": boolean,
        "words": {"type": "array", "items": word}, "version": integer,
        "needs_transcription": {"type": "boolean", "description": "Kyrgyz speech with no text yet (clerks' queue)"},
        "speaker_label": {**nullable_text, "description": "The sitting's voice cluster (S1, S2 …) from diarization"},
        "speaker_proposal": {"type": "object", "nullable": True,
                             "description": "An automatic guess a clerk may accept; never in a publication",
                             "properties": {"person_id": integer, "name": text,
                                            "score": {"type": "number", "minimum": 0, "maximum": 1},
                                            "source": {"type": "string", "enum": ["voice", "chair"]}}}}}
    hit = {"type": "object", "properties": {
        "sitting": integer, "segment": integer, "start": num, "end": num, "committee": text, "date": nullable_text,
        "speaker": nullable_text, "language": nullable_text, "official": boolean,
        "snippet": {"type": "string", "description": "HTML: <mark> around matches, everything else escaped"},
        "link": text,
        "agenda_item": {"type": "object", "nullable": True,
                        "description": "The sitting's agenda item the moment falls in (by media time); filter "
                                       "with agenda=<identifier>",
                        "properties": {"identifier": text, "title": nullable_text,
                                       "position": {"type": "integer", "nullable": True},
                                       "link": {**nullable_text, "description": "/s/<sitting>/item/<position>"}}}}}
    closed = {"type": "object", "additionalProperties": False}
    return {
        "Error": {"type": "object", "required": ["error", "status"], "properties": {"error": text, "status": integer}},
        "Conflict": {"type": "object", "required": ["error", "status"],
                     "properties": {"error": text, "status": integer, "current": {**segment, "nullable": True}}},
        "Committee": {"type": "object", "properties": {"slug": text, "name": text, "names": obj,
                                                        "stream_url": nullable_text, "default_language": text}},
        "CommitteeList": _list("Committee"),
        "Sitting": {"type": "object", "properties": {
            "id": integer, "committee": text, "title": nullable_text, "status": {"type": "string",
                                                                                "enum": list(SittingStatus)},
            "duration": num, "scheduled_start": nullable_text, "scheduled_end": nullable_text,
            "started_at": nullable_text, "ended_at": nullable_text, "failure_reason": nullable_text, "links": obj}},
        "SittingList": _list("Sitting"),
        "Segment": segment,
        "SegmentPair": {"type": "object", "properties": {"first": segment, "second": segment}},
        "Stenogram": {"type": "object", "properties": {"format": text, "sitting": obj,
                                                        "segments": {"type": "array", "items": segment}}},
        "SearchResult": {"type": "object", "properties": {
            "total": integer, "page": integer, "pages": integer, "items": {"type": "array", "items": hit},
            "facets": {**obj, "description": "Counts per committee, speaker, year, language and agenda (the "
                                             "agenda item's identifier, e.g. a bill number)"},
            "facets_estimated": {"type": "boolean"}, "next": nullable_text}},
        "Person": {"type": "object", "properties": {"id": integer, "name": text, "faction": nullable_text,
                                                     "role": nullable_text,
                                                     "sittings": {"type": "array", "items": obj}}},
        "PersonList": _list("Person"),
        "PersonInput": {**closed, "required": ["name"], "properties": {
            "name": {**short, "minLength": 1},  # empty, or null: not given
            "faction": {**short, "pattern": f"^[^{NO_CONTROL}]*$", "nullable": True},
            "role": {**short, "pattern": f"^[^{NO_CONTROL}]*$", "nullable": True}}},
        "SegmentEdit": {**closed, "required": ["version"], "minProperties": 2, "properties": {
            "version": version, "start": seconds, "end": seconds,
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN},
            "speaker": {**ID, "nullable": True, "description": "Person id, or null"}}},
        "SpeakerAccept": {**closed, "properties": {
            "min_score": {"type": "number", "minimum": 0, "maximum": 1},
            "segments": {"type": "array", "nullable": True, "maxItems": 5000, "items": ID,
                         "description": "These segments' proposals; null or absent: every one above min_score"}}},
        "SpeakerAssign": {**closed, "required": ["segments", "person"], "properties": {
            "segments": {"type": "array", "minItems": 1, "maxItems": 5000, "items": ID}, "person": ID}},
        "SpeakerRelabel": {**closed, "required": ["label", "person"], "properties": {
            "label": {"type": "string", "pattern": "^S[0-9]{1,15}$"}, "person": ID}},
        "SpeakerChange": {"type": "object", "properties": {
            "changed": {"type": "array", "items": integer, "description": "The ids of the segments changed"},
            "segments": {"type": "array", "items": segment, "description": "Those segments as they now are"}}},
        "SegmentSplit": {**closed, "required": ["version", "offset"], "properties": {
            "version": version, "offset": {**ID, "minimum": 1, "description": "Character offset in the text"}}},
        "SegmentMerge": {**closed, "required": ["version", "next_version"], "properties": {
            "version": version, "next_version": {**ID, "description": "The version of the segment after it"}}},
        "Revision": {"type": "object", "properties": {
            "id": integer, "segment": {"type": "integer", "nullable": True}, "action": text, "before": obj,
            "after": obj, "editor": nullable_text, "at": text}},
        "RevisionList": _list("Revision"),
        "Review": {"type": "object", "properties": {"sitting": integer, "status": text}},
        "Publication": {"type": "object", "properties": {"sitting": integer, "number": integer,
                                                          "published_at": text, "link": text}},
        **_record_schemas(),
        **_subscription_schemas(),
        "Clip": {"type": "object", "required": ["status", "url", "start", "end"], "properties": {
            "status": {"type": "string", "enum": ["pending", "ready"]},
            "url": {"type": "string", "description": "Where the MP4 is (202 there too until it is made)"},
            "start": {"type": "number"}, "end": {"type": "number"}}},
    }


def _record_schemas() -> dict[str, Any]:
    """Agenda items, vote events (Popolo-shaped; the push refuses unknown fields), records, Popolo."""
    obj, num, text = {"type": "object"}, {"type": "number"}, {"type": "string"}
    nullable_text, nullable_num = {"type": "string", "nullable": True}, {"type": "number", "nullable": True}
    line = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": TEXT_PATTERN}
    option = {"type": "string", "enum": list(OPTIONS)}
    # Open objects: Popolo documents carry more fields (group_id, weight …) than Sanarip reads.
    count = {"type": "object", "required": ["option", "value"],
             "properties": {"option": option, "value": {"type": "integer", "minimum": 0, "maximum": MAX_ID}}}
    vote = {"type": "object", "required": ["voter_id", "option"],
            "properties": {"voter_id": {**line, "description": "Any identifier of a person, or person/<id>"},
                           "option": option}}
    event_in = {
        "type": "object", "required": ["start_date"],
        "anyOf": [{"required": ["identifier"]}, {"required": ["id"]}],
        "properties": {
            "identifier": {**line, "description": "Idempotency key: a vote event pushed again is replaced"},
            "id": {**line, "description": "Same as identifier"},
            "motion": {"type": "object", "properties": {
                "text": {"type": "string", "maxLength": 10_000, "pattern": f"^[^{NO_CONTROL}]*$"},
                "identifier": {**line, "minLength": 0, "pattern": f"^[^{NO_CONTROL}]*$"}}},
            "start_date": {"type": "string", "format": "date-time", "description": "Wall clock, ISO with offset"},
            "result": {"type": "string", "maxLength": 100, "pattern": f"^[^{NO_CONTROL}]*$"},
            "counts": {"type": "array", "items": count, "maxItems": len(OPTIONS)},
            "votes": {"type": "array", "items": vote, "maxItems": MAX_VOTES}}}
    event = {"type": "object", "properties": {
        "identifier": text, "sitting": {"type": "integer"}, "motion": obj, "start_date": text, "media_time": num,
        "in_gap": {"type": "boolean"}, "result": nullable_text, "label": text,
        "counts": {"type": "array", "items": obj}, "group_results": {"type": "array", "items": obj},
        "votes": {"type": "array", "items": obj}}}
    item = {"type": "object", "properties": {"position": {"type": "integer"}, "identifier": text, "title": text,
                                             "link": nullable_text, "start": num, "end": nullable_num}}
    return {
        "AgendaItem": item, "AgendaList": _list("AgendaItem"),
        "AgendaInput": {"type": "array", "maxItems": MAX_AGENDA_ITEMS, "items": {
            "type": "object", "required": ["identifier", "title"],
            "anyOf": [{"required": ["start"]}, {"required": ["start_date"]}],
            "properties": {"identifier": line, "title": {**line, "maxLength": 1000},
                           "link": {"type": "string", "format": "uri", "maxLength": 2000},
                           "start": {"type": "number", "minimum": 0, "maximum": MAX_MEDIA_SECONDS},
                           "end": {"type": "number", "minimum": 0, "maximum": MAX_MEDIA_SECONDS},
                           "start_date": {"type": "string", "format": "date-time"},
                           "end_date": {"type": "string", "format": "date-time"}}}},
        "VoteEvent": event, "VoteEventList": _list("VoteEvent"), "VoteEventInput": event_in,
        "VoteEventPush": {"oneOf": [{"$ref": "#/components/schemas/VoteEventInput"},
                                    {"type": "array", "minItems": 1, "maxItems": MAX_VOTE_EVENTS,
                                     "items": {"$ref": "#/components/schemas/VoteEventInput"}}]},
        "Placed": {"type": "object", "properties": {"items": {"type": "array", "items": {
            "type": "object", "properties": {"identifier": text, "media_time": num, "in_gap": {"type": "boolean"}}}},
            "next": nullable_text}},
        "Popolo": {"type": "object", "required": ["persons", "organizations", "memberships", "vote_events"],
                   "properties": {k: {"type": "array", "items": obj} for k in (
                       "persons", "organizations", "posts", "memberships", "motions", "vote_events")}},
        "DeputyRecord": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": text, "speaking_time": obj, "attendance": obj,
            "speeches": {"type": "array", "items": obj}, "votes": {"type": "array", "items": obj},
            "memberships": {"type": "array", "items": obj}}},
        "FactionRecord": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": text, "members": {"type": "array", "items": obj}, "cohesion": obj,
            "attendance": obj, "speaking_time": obj}},
    }


def _subscription_schemas() -> dict[str, Any]:
    """Alerts: the public writes a subscription (double opt-in); only admins read them back."""
    text, boolean = {"type": "string"}, {"type": "boolean"}
    nullable_int = {"type": "integer", "nullable": True}
    choice = {"type": "string", "maxLength": 300, "pattern": f"^[^{NO_CONTROL}]*$"}
    mode = {"type": "string", "enum": list(Mode), "description": "immediate: one message per batch of new "
            "passages; daily: one digest a day at SANARIP_ALERT_DIGEST_HOUR"}
    language = {"type": "string", "enum": list(LANGUAGES), "description": "Language of the e-mails"}
    item = {"type": "object", "properties": {
        "id": {"type": "integer"}, "email": text, "target": {"type": "string", "enum": list(Target)},
        "query": {"type": "string", "nullable": True}, "filters": {"type": "object"}, "person_id": nullable_int,
        "committee_id": nullable_int, "mode": mode, "language": language, "draft": boolean, "created_at": text,
        "confirmed_at": {"type": "string", "nullable": True}}}
    return {
        "SubscriptionInput": {
            "type": "object", "additionalProperties": False, "required": ["email"],
            "description": "Exactly one of query, person_id or committee (else 400). Nothing is sent but a "
                           "confirmation link until it is opened; every alert has a one-click unsubscribe link.",
            "properties": {
                "email": {"type": "string", "maxLength": 254, "format": "email"},
                "query": {"type": "string", "maxLength": MAX_QUERY, "pattern": f"^$|{TEXT_PATTERN}",
                          "nullable": True, "description": "A search query, as /search takes it (empty or null: "
                                                           "not given)"},
                "filters": {"type": "object", "additionalProperties": False, "description": "With a query only",
                            "properties": {"committee": choice, "speaker": choice, "language": choice,
                                           "agenda": choice,
                                           "from": {"type": "string", "format": "date"},
                                           "to": {"type": "string", "format": "date"}, "official": boolean}},
                "person_id": {**ID, "nullable": True, "description": "Follow a deputy"},
                "committee": {"type": "string", "maxLength": 64, "nullable": True,
                              "description": "Follow a committee (its slug)"},
                "mode": mode, "language": language,
                "draft": {"type": "boolean", "description": "Also alert from the live draft while a sitting runs"}}},
        "SubscriptionPending": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["pending"]}, "message": text}},
        "Subscription": item,
        "SubscriptionList": _list("Subscription"),
    }


def openapi_document(server: str) -> dict[str, Any]:
    """The document, with ``server`` (from SANARIP_BASE_URL) as the API's base URL."""
    search_params = [
        _param("q", schema={"type": "string", "minLength": 1, "pattern": "\\S"}, required=True,
               desc="Query: words, \"phrases\", prefix*, -exclude, OR"),
        _param("committee"), _param("from", schema={"type": "string", "format": "date"}, desc="YYYY-MM-DD"),
        _param("to", schema={"type": "string", "format": "date"}, desc="YYYY-MM-DD"),
        _param("speaker"), _param("language"),
        _param("agenda", schema={"type": "string", "maxLength": 200},
               desc="An agenda item's identifier (e.g. a bill number): moments within that item, in any sitting"),
        _param("official", schema={"type": "string", "enum": ["1", "true", "on", "0", "false", "off"]},
               desc="1: official only"),
        _param("sort", schema={"type": "string", "enum": ["relevance", "date"]}),
        _param("page", schema={"type": "integer", "minimum": 1, "maximum": 500})]
    slug = [_param("slug", "path")]
    paths: dict[str, Any] = {
        "/committees": _get("List committees", _ok("CommitteeList"), PAGING),
        "/committees/{slug}": _get("One committee", _ok("Committee"), slug),
        "/committees/{slug}/export.jsonl": _get(
            "All public transcript segments of a committee, one JSON object a line",
            {"description": "JSON Lines", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}, slug),
        "/committees/{slug}/export.csv": _get(
            "All public transcript segments of a committee as CSV (cells that would start a formula begin with ')",
            {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}, slug),
        "/sittings": _get("List sittings, oldest first", _ok("SittingList"), PAGING + [
            _param("committee"), _param("status", schema={"type": "string", "enum": list(SittingStatus)})]),
        "/sittings/{sitting_id}": _get("One sitting", _ok("Sitting"), [_id("sitting_id")]),
        "/sittings/{sitting_id}/transcript": _get(
            "What the public sees of a sitting's stenogram, with words", _ok("Stenogram"),
            [_id("sitting_id"), _param("v", schema={**ID, "minimum": 1}, desc="Publication number")]),
        "/search": _get("Search transcripts; each hit is a moment", _ok("SearchResult"), search_params,
                        {**ERRORS, "503": SEARCH_BUSY}),
        "/persons": {**_get("List persons", _ok("PersonList"), PAGING),
                     "post": _write("Add a person (clerk)", _ok("Person", "Created"), [], "PersonInput", "201")},
        "/persons/{person_id}": _get("One person with speaking time per sitting", _ok("Person"), [_id("person_id")]),
        "/segments/{segment_id}": {"patch": _write(
            "Edit a segment (text, start, end, speaker) at a known version", _ok("Segment"), [_id("segment_id")],
            "SegmentEdit")},
        "/segments/{segment_id}/split": {"post": _write(
            "Split a segment in two at a character offset", _ok("SegmentPair"), [_id("segment_id")], "SegmentSplit")},
        "/segments/{segment_id}/merge": {"post": _write(
            "Merge a segment with the one after it", _ok("Segment"), [_id("segment_id")], "SegmentMerge")},
        "/segments/{segment_id}/revisions": _get("A segment's revisions, newest first (clerk)", _ok("RevisionList"),
                                                 [_id("segment_id")], {**ERRORS, "401": _ok("Error", "No credentials"),
                                                                       "403": _ok("Error", "Wrong role")},
                                                 secured=True),
        "/revisions/{revision_id}/revert": {"post": _write(
            "Revert a segment to the state before a revision", _ok("Segment"), [_id("revision_id")])},
        "/sittings/{sitting_id}/speakers/accept": {"post": _write(
            "Confirm proposed speakers: of the given segments, or of every unattributed segment whose proposal "
            "scores at least min_score (clerk)", _ok("SpeakerChange"), [_id("sitting_id")], "SpeakerAccept")},
        "/sittings/{sitting_id}/speakers/assign": {"post": _write(
            "One speaker for a run of segments or a whole turn (clerk)", _ok("SpeakerChange"), [_id("sitting_id")],
            "SpeakerAssign")},
        "/sittings/{sitting_id}/speakers/relabel": {"post": _write(
            "Attribute every segment of a voice cluster (S3 …) to a person (clerk)", _ok("SpeakerChange"),
            [_id("sitting_id")], "SpeakerRelabel")},
        "/sittings/{sitting_id}/review": {"post": _write(
            "Mark a transcribed sitting as reviewed (clerk)", _ok("Review"), [_id("sitting_id")])},
        "/sittings/{sitting_id}/agenda": {
            **_get("A sitting's agenda items in order (start/end in media seconds)", _ok("AgendaList"),
                   [_id("sitting_id")]),
            "post": _write("Replace the sitting's agenda (clerk); items out of order, without a title or placed "
                           "outside the sitting answer 400", _ok("AgendaList"), [_id("sitting_id")], "AgendaInput")},
        "/committees/{slug}/votes.csv": _get(
            "A committee's votes, one row per person per vote event",
            {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}, slug),
        "/sittings/{sitting_id}/clip": {"get": {
            "summary": "An MP4 of a range of the sitting (at most 15 minutes, with its transcript as a soft "
                       "subtitle track): 202 while a job makes it, then 200 with its URL. Only new clips count "
                       "against the per-address limit (SANARIP_CLIP_RATE_LIMIT an hour)",
            "parameters": [_id("sitting_id"), CLIP_T,
                           _param("captions", schema={"type": "string", "enum": ["soft", "burn"]},
                                  desc="burn: the lines are also drawn into the picture, with the speaker")],
            "responses": {"200": _ok("Clip", "Made"),
                          "202": {**_ok("Clip", "Being made: ask again after Retry-After seconds"),
                                  "headers": TOO_MANY["headers"]}, **ERRORS}}},
        "/sittings/{sitting_id}/vote-events": {
            **_get("A sitting's vote events with counts, group results and votes per person", _ok("VoteEventList"),
                   [_id("sitting_id")]),
            "post": _write("Push vote events (editor): the e-voting system's results as they happen; all stored "
                           "or none; unknown voters, counts that disagree with the votes and times outside the "
                           "sitting answer 400", _ok("Placed", "Stored"), [_id("sitting_id")], "VoteEventPush",
                           "201")},
        "/sittings/{sitting_id}/popolo.json": _get("One sitting's voters, speakers and vote events as Popolo",
                                                   _ok("Popolo"), [_id("sitting_id")]),
        "/popolo.json": _get("Persons, organizations, posts, memberships, motions and vote events as Popolo",
                             _ok("Popolo")),
        "/votes.csv": _get("Every vote, one row per person per vote event",
                           {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}),
        "/persons/{person_id}/record": _get("A deputy's record: speeches, votes, attendance, memberships",
                                            _ok("DeputyRecord"), [_id("person_id")]),
        "/factions/{org_id}/record": _get("A faction's record: members, cohesion, attendance, speaking time",
                                          _ok("FactionRecord"), [_id("org_id")]),
        "/subscriptions": {
            **_get("Every subscription, with its address (admin)", _ok("SubscriptionList"), PAGING,
                   {**ERRORS, "401": _ok("Error", "No credentials"), "403": _ok("Error", "Wrong role")},
                   secured=True),
            "post": {**_write("Follow a search, a deputy or a committee by e-mail (anonymous; a confirmation "
                              "link is sent first)", _ok("SubscriptionPending", "Accepted: confirmation sent"), [],
                              "SubscriptionInput", "202"),
                     "security": [{}, *SECURITY]}},
        "/sittings/{sitting_id}/publish": {"post": _write(
            "Publish the working copy as the next official version (editor); with no change since the last "
            "publication, that publication is the answer", _ok("Publication"), [_id("sitting_id")])},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Sanarip open-data API", "version": "1",
                 "description": "Committee sittings, their stenograms and full-text search. Read endpoints are "
                                "public; write endpoints need a clerk's session (with CSRF) or API token. Domain "
                                "rules beyond this document (segments may not overlap, a split leaves text on both "
                                "sides, a query must parse) answer 400 with the reason."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": _schemas(), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }
