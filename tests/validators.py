"""Strict checks of the documents Sanarip publishes: HLS playlists, WebVTT, SRT, iCalendar.

Players, caption tools and calendar clients are less forgiving than our own round trips, so
each document is read by independent parsers in their strict modes (WebVTT and iCalendar
also by the JavaScript parsers browsers' tooling uses, run with node), and the rules we rely
on are checked on top. Each check raises AssertionError with the reason.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import icalendar
import m3u8
import srt
import webvtt

JS = Path(__file__).resolve().parent / "js"


# --- HLS (RFC 8216) ---------------------------------------------------------------------------
def check_hls(text: str, *, final: bool | None = None, discontinuities: int | None = None) -> m3u8.M3U8:
    """A media or multivariant playlist; ``final`` says VOD (True) or a growing EVENT playlist
    (False), ``discontinuities`` how many EXT-X-DISCONTINUITY tags the gaps must have made."""
    assert text.startswith("#EXTM3U\n"), "a playlist starts with #EXTM3U (RFC 8216 §4.3.1.1)"
    playlist = m3u8.M3U8(text, strict=True)  # unknown lines and features above EXT-X-VERSION raise
    if playlist.is_variant:
        _check_multivariant(playlist)
        return playlist
    target = playlist.target_duration
    assert isinstance(target, int) and target > 0, "EXT-X-TARGETDURATION is a positive integer (§4.3.3.1)"
    assert isinstance(playlist.media_sequence, int) and playlist.media_sequence >= 0
    assert playlist.segments, "a media playlist lists segments"
    stamps = []
    for seg in playlist.segments:
        assert seg.uri, "every EXTINF is followed by a URI"
        assert seg.duration > 0, f"{seg.uri}: duration {seg.duration}"
        assert math.floor(seg.duration + 0.5) <= target, \
            f"{seg.uri}: {seg.duration} s rounds above EXT-X-TARGETDURATION:{target} (§4.3.3.1)"
        if seg.program_date_time is not None:
            stamps.append(seg.program_date_time)
    assert stamps == sorted(stamps), "EXT-X-PROGRAM-DATE-TIME goes backwards"
    assert not playlist.segments[0].discontinuity, "a discontinuity before the first segment"
    if discontinuities is not None:
        found = sum(seg.discontinuity for seg in playlist.segments)
        assert found == discontinuities, f"{found} EXT-X-DISCONTINUITY tags, expected {discontinuities}"
    if final is not None:
        assert playlist.is_endlist == final, "EXT-X-ENDLIST " + ("missing" if final else "in a live playlist")
        assert playlist.playlist_type == ("vod" if final else "event")
    return playlist


def check_hls_reload(previous: str, current: str) -> None:
    """Two successive loads of one live playlist (§6.2.1): the media sequence never goes back, a
    media sequence number keeps its segment, and an EVENT playlist only grows."""
    before, after = check_hls(previous), check_hls(current)
    assert after.media_sequence >= before.media_sequence, "EXT-X-MEDIA-SEQUENCE went backwards"
    numbered_before = {before.media_sequence + i: s.uri for i, s in enumerate(before.segments)}
    for i, seg in enumerate(after.segments):
        number = after.media_sequence + i
        assert numbered_before.get(number, seg.uri) == seg.uri, f"media sequence {number} changed its segment"
    if before.playlist_type == "event":
        assert after.media_sequence == before.media_sequence and len(after.segments) >= len(before.segments)
    assert not before.is_endlist or after.is_endlist, "a playlist reopened after EXT-X-ENDLIST"


def _check_multivariant(playlist: m3u8.M3U8) -> None:
    assert not playlist.segments, "a multivariant playlist lists no media segments"
    assert playlist.playlists, "a multivariant playlist lists variant streams"
    for variant in playlist.playlists:
        assert variant.uri and variant.stream_info.bandwidth, f"{variant.uri}: EXT-X-STREAM-INF needs BANDWIDTH"
    for media in playlist.media:
        assert media.type and media.group_id and media.name, "EXT-X-MEDIA needs TYPE, GROUP-ID and NAME"


# --- WebVTT ------------------------------------------------------------------------------------
def check_webvtt(text: str) -> webvtt.WebVTT:
    """webvtt-py (strict) and npm webvtt-parser must both accept it and agree on the cues."""
    captions = webvtt.from_string(text, strict=True)
    cues = _node("check-webvtt.js", text)["cues"]
    assert cues == len(captions.captions) == text.count("-->"), "the parsers disagree on the cues"
    spans = [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) for c in captions]
    assert [a for a, _ in spans] == sorted(a for a, _ in spans), "cue start times go backwards (file conformance)"
    assert all(b > a for a, b in spans), "a cue ends before it starts"
    return captions


TIMESTAMP_MAP = re.compile(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:(\d{2,}:\d{2}:\d{2}\.\d{3})")


def check_hls_webvtt(text: str) -> tuple[webvtt.WebVTT, int, str]:
    """A VTT segment of an HLS subtitle rendition: (captions, MPEGTS, LOCAL).

    RFC 8216 §3.5 puts ``X-TIMESTAMP-MAP`` on the line after the signature, a header line that
    the current WebVTT spec no longer has (webvtt-parser reports "No blank line after the
    signature" for any such line; players and hls.js require it there). So that one line is
    checked here, exactly, and the rest of the document must pass ``check_webvtt`` unchanged.
    """
    lines = text.split("\n")
    assert lines[0] == "WEBVTT", "a VTT segment starts with the bare signature"
    found = TIMESTAMP_MAP.fullmatch(lines[1])
    assert found, f"line 2 is not an RFC 8216 X-TIMESTAMP-MAP: {lines[1]!r}"
    assert lines[2] == "", "the header ends after X-TIMESTAMP-MAP"
    captions = check_webvtt("\n".join([lines[0]] + lines[2:]))
    return captions, int(found.group(1)), found.group(2)


# --- SRT ---------------------------------------------------------------------------------------
def check_srt(text: str) -> list[srt.Subtitle]:
    """``srt`` parses it without ignoring anything, and composing it back gives the same text."""
    subs = list(srt.parse(text))  # ignore_errors=False: unparseable content raises
    assert subs, "no subtitles"
    assert [s.index for s in subs] == list(range(1, len(subs) + 1)), "indices are not 1, 2, 3 …"
    assert all(s.end > s.start for s in subs)
    composed = srt.compose(subs, reindex=False, strict=True)
    assert composed.rstrip("\n") == text.replace("\r\n", "\n").rstrip("\n"), "not a lossless SRT round trip"
    return subs


# --- iCalendar (RFC 5545) ----------------------------------------------------------------------
def check_icalendar(data: bytes) -> icalendar.Calendar:
    """CRLF lines folded at 75 octets; icalendar and npm ical.js both parse it without errors."""
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""), "lines end in CRLF (§3.1)"
    long = [line for line in data.split(b"\r\n") if len(line) > 75]
    assert not long, f"content lines longer than 75 octets (§3.1): {long[:1]}"
    cal = icalendar.Calendar.from_ical(data)
    errors = [(c.name, e) for c in cal.walk() for e in c.errors]
    assert not errors, f"icalendar: {errors}"
    events = _node("check-ical.js", data.decode("utf-8"))["events"]
    assert events == len(cal.walk("VEVENT"))
    return cal


def _node(script: str, text: str) -> dict:
    """Run one of tests/js/ on ``text``; its JSON summary."""
    from tests.conftest import unavailable

    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed (the JavaScript validators need it)")
    proc = subprocess.run([node, str(JS / script)], input=text, capture_output=True, text=True, timeout=60)
    if proc.returncode == 2:
        unavailable(proc.stderr.strip())
    assert proc.returncode == 0, f"{script}: {proc.stderr.strip()}"
    return json.loads(proc.stdout)
