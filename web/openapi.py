"""The OpenAPI 3 document for /api/v1 (every endpoint, read and write)."""

from __future__ import annotations

from typing import Any


def _param(name: str, where: str = "query", kind: str = "string", required: bool = False, desc: str = "") -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "description": desc,
            "schema": {"type": kind}}


def _ok(schema: str, desc: str = "OK") -> dict:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": desc, "content": {"application/json": {"schema": ref}}}


def _list(item: str) -> dict:
    return {"type": "object", "required": ["items", "next"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
        "next": {"type": "string", "nullable": True, "description": "URL of the next page, or null"}}}


ERRORS = {"400": _ok("Error", "Bad input"), "404": _ok("Error", "Not found")}
PAGING = [_param("page", kind="integer", desc="Page number, from 1"),
          _param("per_page", kind="integer", desc="Items per page (1-500, default 50)")]
WRITE_ERRORS = {
    "400": _ok("Error", "Bad input"), "401": _ok("Error", "No credentials"), "403": _ok("Error", "Wrong role"),
    "404": _ok("Error", "Not found"), "409": _ok("Conflict", "Stale version: someone else saved first"),
    "413": _ok("Error", "Payload too large"),
}


def _get(summary: str, ok: dict, params: list | None = None, errors: dict | None = None) -> dict:
    return {"get": {"summary": summary, "parameters": params or [], "responses": {"200": ok, **(errors or ERRORS)}}}


def openapi_document(server: str) -> dict[str, Any]:
    search_params = [_param("q", required=True, desc="Query: words, \"phrases\", prefix*, -exclude, OR"),
                     _param("committee"), _param("from", desc="YYYY-MM-DD"), _param("to", desc="YYYY-MM-DD"),
                     _param("speaker"), _param("language"), _param("official", desc="1: official only"),
                     _param("sort", desc="relevance or date"), _param("page", kind="integer")]
    seg_path = [_param("segment_id", "path", "integer")]
    paths: dict[str, Any] = {
        "/committees": _get("List committees", _ok("CommitteeList"), PAGING),
        "/committees/{slug}": _get("One committee", _ok("Committee"), [_param("slug", "path")]),
        "/committees/{slug}/export.jsonl": _get(
            "All public transcript segments of a committee, one JSON object a line",
            {"description": "JSON Lines", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
            [_param("slug", "path")]),
        "/committees/{slug}/export.csv": _get(
            "All public transcript segments of a committee as CSV",
            {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}, [_param("slug", "path")]),
        "/sittings": _get("List sittings, oldest first", _ok("SittingList"),
                          PAGING + [_param("committee"), _param("status")]),
        "/sittings/{sitting_id}": _get("One sitting", _ok("Sitting"), [_param("sitting_id", "path", "integer")]),
        "/sittings/{sitting_id}/transcript": _get(
            "What the public sees of a sitting's stenogram, with words", _ok("Stenogram"),
            [_param("sitting_id", "path", "integer"), _param("v", kind="integer", desc="Publication number")]),
        "/search": _get("Search transcripts; each hit is a moment", _ok("SearchResult"), search_params,
                        {**ERRORS, "503": _ok("Error", "Search unavailable")}),
        "/persons": _get("List persons", _ok("PersonList"), PAGING),
        "/persons/{person_id}": _get("One person with speaking time per sitting", _ok("Person"),
                                     [_param("person_id", "path", "integer")]),
        "/segments/{segment_id}": {"patch": {
            "summary": "Edit a segment (text, start, end, speaker) at a known version",
            "security": [{"bearer": []}, {"session": []}], "parameters": seg_path,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SegmentEdit"}}}},
            "responses": {"200": _ok("Segment"), **WRITE_ERRORS}}},
        "/segments/{segment_id}/split": {"post": {
            "summary": "Split a segment in two at a character offset",
            "security": [{"bearer": []}, {"session": []}], "parameters": seg_path,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SegmentSplit"}}}},
            "responses": {"200": _ok("SegmentPair"), **WRITE_ERRORS}}},
        "/segments/{segment_id}/merge": {"post": {
            "summary": "Merge a segment with the one after it",
            "security": [{"bearer": []}, {"session": []}], "parameters": seg_path,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SegmentMerge"}}}},
            "responses": {"200": _ok("Segment"), **WRITE_ERRORS}}},
        "/segments/{segment_id}/revisions": _get("A segment's revisions, newest first", _ok("RevisionList"), seg_path),
        "/revisions/{revision_id}/revert": {"post": {
            "summary": "Revert a segment to the state before a revision",
            "security": [{"bearer": []}, {"session": []}], "parameters": [_param("revision_id", "path", "integer")],
            "responses": {"200": _ok("Segment"), **WRITE_ERRORS}}},
        "/sittings/{sitting_id}/review": {"post": {
            "summary": "Mark a transcribed sitting as reviewed (clerk)",
            "security": [{"bearer": []}, {"session": []}], "parameters": [_param("sitting_id", "path", "integer")],
            "responses": {"200": _ok("Review"), **WRITE_ERRORS}}},
        "/sittings/{sitting_id}/publish": {"post": {
            "summary": "Publish the working copy as the next official version (editor)",
            "security": [{"bearer": []}, {"session": []}], "parameters": [_param("sitting_id", "path", "integer")],
            "responses": {"200": _ok("Publication"), **WRITE_ERRORS}}},
    }
    paths["/persons"]["post"] = {
        "summary": "Add a person (clerk)", "security": [{"bearer": []}, {"session": []}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/PersonInput"}}}},
        "responses": {"201": _ok("Person", "Created"), **WRITE_ERRORS}}
    obj, num, text, integer, boolean = ({"type": "object"}, {"type": "number"}, {"type": "string"},
                                        {"type": "integer"}, {"type": "boolean"})
    nullable_text = {"type": "string", "nullable": True}
    word = {"type": "object", "properties": {"word": text, "start": num, "end": num, "prob": num}}
    segment = {"type": "object", "properties": {
        "id": integer, "start": num, "end": num, "text": text, "speaker": nullable_text,
        "speaker_id": {"type": "integer", "nullable": True}, "language": nullable_text, "unreliable": boolean,
        "words": {"type": "array", "items": word}, "version": integer}}
    hit = {"type": "object", "properties": {
        "sitting": integer, "segment": integer, "start": num, "end": num, "committee": text, "date": text,
        "speaker": nullable_text, "language": nullable_text, "official": boolean,
        "snippet": {"type": "string", "description": "HTML: <mark> around matches, everything else escaped"},
        "link": text}}
    schemas = {
        "Error": {"type": "object", "properties": {"error": text, "status": integer}},
        "Conflict": {"type": "object", "properties": {"error": text, "status": integer, "current": segment}},
        "Committee": {"type": "object", "properties": {"slug": text, "name": text, "names": obj,
                                                        "stream_url": nullable_text, "default_language": text}},
        "CommitteeList": _list("Committee"),
        "Sitting": {"type": "object", "properties": {
            "id": integer, "committee": text, "title": text, "status": text, "duration": num,
            "scheduled_start": nullable_text, "scheduled_end": nullable_text, "started_at": nullable_text,
            "ended_at": nullable_text, "failure_reason": nullable_text, "links": obj}},
        "SittingList": _list("Sitting"),
        "Segment": segment,
        "SegmentPair": {"type": "object", "properties": {"first": segment, "second": segment}},
        "Stenogram": {"type": "object", "properties": {"format": text, "sitting": obj,
                                                        "segments": {"type": "array", "items": segment}}},
        "SearchResult": {"type": "object", "properties": {
            "total": integer, "page": integer, "pages": integer, "items": {"type": "array", "items": hit},
            "facets": obj, "facets_estimated": {"type": "boolean"}, "next": nullable_text}},
        "Person": {"type": "object", "properties": {"id": integer, "name": text, "faction": nullable_text,
                                                     "role": nullable_text, "sittings": {"type": "array",
                                                                                         "items": obj}}},
        "PersonList": _list("Person"),
        "PersonInput": {"type": "object", "required": ["name"], "properties": {
            "name": text, "faction": text, "role": text}},
        "SegmentEdit": {"type": "object", "required": ["version"], "properties": {
            "version": integer, "text": text, "start": num, "end": num,
            "speaker": {"type": "integer", "nullable": True, "description": "Person id, or null"}}},
        "SegmentSplit": {"type": "object", "required": ["version", "offset"], "properties": {
            "version": integer, "offset": {"type": "integer", "description": "Character offset in the text"}}},
        "SegmentMerge": {"type": "object", "required": ["version", "next_version"], "properties": {
            "version": integer, "next_version": integer}},
        "Revision": {"type": "object", "properties": {
            "id": integer, "segment": integer, "action": text, "before": obj, "after": obj, "editor": nullable_text,
            "at": text}},
        "RevisionList": _list("Revision"),
        "Review": {"type": "object", "properties": {"sitting": integer, "status": text}},
        "Publication": {"type": "object", "properties": {"sitting": integer, "number": integer,
                                                          "published_at": text, "link": text}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Sanarip open-data API", "version": "1",
                 "description": "Committee sittings, their stenograms and full-text search. Read endpoints are "
                                "public; write endpoints need a clerk's session (with CSRF) or API token."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }
