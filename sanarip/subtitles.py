"""The transcript as a segmented WebVTT subtitle rendition inside the sitting's HLS stream.

One VTT file per media segment, aligned to it: its ``X-TIMESTAMP-MAP`` pairs the segment's first
MPEG-TS timestamp (read from the segment itself) with its media time, and its cues are the
transcript lines overlapping the segment, timed in media time (the sitting's one clock). So
hls.js and native players place every cue on the video's own timeline, across stream drops too,
and show the text in step with the picture. A multivariant playlist (``main.m3u8``) ties the
media playlist to the subtitle playlist with ``EXT-X-MEDIA:TYPE=SUBTITLES``.

Layout under ``sittings/<id>/`` (public; see ``sanarip.medialayout``)::

    main.m3u8              multivariant: edge.m3u8 (live) or index.m3u8 (recorded) + subtitles
    subs/live.m3u8         the live draft's subtitle playlist: a sliding window while live
    subs/live/sub_00000.vtt …   the live draft's VTT segments (written once each)
    subs/index.m3u8        the recorded sitting's subtitle playlist (VOD)
    subs/<tag>/sub_00000.vtt …  the final pass's VTT segments; a new tag per run, never overwritten

While live, a VTT segment is written once the draft has settled its time span (every line that
starts in it is committed), or at the latest ``MAX_WAIT`` seconds of media later, so each file
is written once and may be cached for ever. A line committed after its segment was written
goes into the next one (hls.js keeps one cue per identifier). Pure Python: no ffmpeg, no model.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sanarip.medialayout import build_playlist, edge_playlist_key, main_playlist_key, sitting_prefix, vod_playlist_key
from sanarip.models import MediaSegment, SegmentSource, TranscriptSegment
from sanarip.sittings import get_sitting
from sanarip.stenogram import Segment, clock, webvtt_cue
from sanarip.storage import NotFound, Storage, StorageError
from sanarip.transcripts import public_stenogram, row_to_segment

WINDOW = 12  # segments in a live sliding-window playlist (24 s of 2 s segments)
# Seconds of newer media after which a live VTT segment is written even if unsettled: a player
# loads only the subtitle segments from its playhead on (about 4 s, two segments, behind the
# edge; live.js), so one written later would never be read; the live job updates the rendition
# every half second even while a pass runs. A line committed after its segment was written goes
# into the next one instead, with its own (earlier) times.
MAX_WAIT = 2.0
LIVE_TAG = SegmentSource.LIVE.value  # the live draft's VTT folder
GROUP = "subs"
NAME = "Transcript"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
VTT_TYPE = "text/vtt"
TS_PACKET = 188
PTS_PROBE = 64 * 1024  # bytes of a segment read to find its first timestamp


# --- keys ------------------------------------------------------------------------------------
def subs_prefix(sitting_id: int) -> str:
    return f"{sitting_prefix(sitting_id)}/subs"


def vtt_name(tag: str, seq: int) -> str:
    """A VTT segment's URI relative to the subtitle playlists (which live in ``subs/``)."""
    return f"{tag}/sub_{seq:05d}.vtt"


def vtt_key(sitting_id: int, tag: str, seq: int) -> str:
    return f"{subs_prefix(sitting_id)}/{vtt_name(tag, seq)}"


def live_subs_key(sitting_id: int) -> str:
    return f"{subs_prefix(sitting_id)}/live.m3u8"


def vod_subs_key(sitting_id: int) -> str:
    return f"{subs_prefix(sitting_id)}/index.m3u8"


# --- MPEG-TS timestamps ----------------------------------------------------------------------
def first_pts(data: bytes) -> int | None:
    """The smallest first PTS (90 kHz) among the audio/video streams starting in ``data``, an MPEG-TS prefix."""
    firsts: dict[int, int] = {}
    for at in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        pkt = data[at:at + TS_PACKET]
        if pkt[0] != 0x47 or not pkt[1] & 0x40:  # not in sync, or no PES starts here
            continue
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if pid in firsts:
            continue
        control = (pkt[3] >> 4) & 0x3
        start = 4 + (1 + pkt[4] if control & 0x2 else 0)
        if not control & 0x1 or start + 14 > TS_PACKET:
            continue
        pes = pkt[start:]
        if pes[:3] != b"\x00\x00\x01" or not 0xC0 <= pes[3] <= 0xEF or not pes[7] & 0x80:
            continue
        p = pes[9:14]
        firsts[pid] = (((p[0] >> 1) & 0x7) << 30) | (p[1] << 22) | ((p[2] >> 1) << 15) | (p[3] << 7) | (p[4] >> 1)
    return min(firsts.values()) if firsts else None


_PTS: dict[str, int | None] = {}  # segment key → first PTS (segments never change)


def segment_pts(storage: Storage, key: str) -> int | None:
    """The first PTS of a stored segment; None when it is not MPEG-TS or cannot be read."""
    if key not in _PTS:
        try:
            _PTS[key] = first_pts(b"".join(storage.read_range(key, 0, PTS_PROBE - 1)))
        except (NotFound, StorageError):
            return None
        if len(_PTS) > 50_000:
            _PTS.clear()
    return _PTS[key]


# --- documents -------------------------------------------------------------------------------
def overlapping(cues: Iterable[Segment], start: float, end: float) -> list[Segment]:
    return [c for c in cues if c.start < end and max(c.end, c.start + 0.001) > start]


def vtt_document(cues: list[Segment], start: float, pts: int | None) -> str:
    """A VTT segment for the media segment starting at media time ``start`` whose first PTS is ``pts``."""
    header = ["WEBVTT"]
    if pts is not None:
        header.append(f"X-TIMESTAMP-MAP=MPEGTS:{pts},LOCAL:{clock(start)}")
    lines = header + [""]
    written = (c for c in cues if not c.needs_transcription)  # a Kyrgyz passage without text is no caption
    for i, cue in enumerate(sorted(written, key=lambda c: (c.start, c.end)), 1):
        lines += webvtt_cue(cue, i)
    return "\n".join(lines) + "\n"


def multivariant(media_uri: str, subs_uri: str, bandwidth: int) -> str:
    """The multivariant playlist: one video variant with the transcript as its subtitle rendition."""
    return "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{GROUP}",NAME="{NAME}",DEFAULT=YES,AUTOSELECT=YES,'
        f'URI="{subs_uri}"',
        f'#EXT-X-STREAM-INF:BANDWIDTH={max(1, int(bandwidth))},SUBTITLES="{GROUP}"',
        media_uri, ""])


def bandwidth(storage: Storage, rows: list[MediaSegment]) -> int:
    """A peak bit rate estimate from the first few media segments (bits per second)."""
    best = 0.0
    for row in [r for r in rows if not r.is_gap and r.path and r.duration > 0][:5]:
        try:
            best = max(best, storage.size(row.path) * 8 / row.duration)
        except (NotFound, StorageError):
            continue
    return int(best * 1.2) or 1_000_000


def write_main(storage: Storage, sitting_id: int, rows: list[MediaSegment], live: bool) -> None:
    """(Re)write ``main.m3u8``: the live edge window or the recorded playlist, with subtitles."""
    prefix = sitting_prefix(sitting_id) + "/"
    media = (edge_playlist_key if live else vod_playlist_key)(sitting_id).removeprefix(prefix)
    subs = (live_subs_key if live else vod_subs_key)(sitting_id).removeprefix(prefix)
    storage.put_bytes(main_playlist_key(sitting_id), multivariant(media, subs, bandwidth(storage, rows)).encode(),
                      PLAYLIST_TYPE)


def _target(rows: list[MediaSegment]) -> int:
    return max([int(r.duration + 0.999) for r in rows if not r.is_gap] or [6])


def _media_rows(session: Session, sitting_id: int, after_seq: int = -1) -> list[MediaSegment]:
    rows = list(session.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sitting_id,
                                                           MediaSegment.seq > after_seq)
                                .order_by(MediaSegment.seq)))
    for row in rows:
        session.expunge(row)
    return rows


# --- the recorded sitting --------------------------------------------------------------------
def publish_recorded(storage: Storage, session: Session, sitting_id: int, cues: list[Segment],
                     tag: str | None = None) -> str:
    """Write the rendition of a finished sitting's transcript (the final pass calls it); returns the tag.

    The VTT files go under a new tag, so a player or cache holding the previous run's files
    keeps consistent ones; the VOD subtitle playlist and ``main.m3u8`` then point at them.
    """
    tag = tag or f"f{int(time.time() * 1000):x}"
    rows = _media_rows(session, sitting_id)
    media = [r for r in rows if not r.is_gap and r.path]
    if not media:
        return tag
    cues = sorted(cues, key=lambda c: c.start)
    for row in media:
        doc = vtt_document(overlapping(cues, row.media_start, row.media_start + row.duration), row.media_start,
                           segment_pts(storage, row.path))
        storage.put_bytes(vtt_key(sitting_id, tag, row.seq), doc.encode(), VTT_TYPE)
    playlist = build_playlist(rows, True, uri=lambda r: vtt_name(tag, r.seq), target=_target(rows))
    storage.put_bytes(vod_subs_key(sitting_id), playlist.encode(), PLAYLIST_TYPE)
    write_main(storage, sitting_id, rows, live=False)
    return tag


def publish_stenogram(storage: Storage, session: Session, sitting_id: int) -> str:
    """``publish_recorded`` with the text the public sees (the working copy or the latest publication)."""
    return publish_recorded(storage, session, sitting_id, public_stenogram(session, get_sitting(session, sitting_id))
                            .segments)


# --- the live draft --------------------------------------------------------------------------
class LiveRendition:
    """The live draft's subtitle rendition, extended by the live job after each pass.

    ``update`` writes the VTT segments whose span has settled and the sliding-window subtitle
    playlist; with ``ended`` it writes the rest and the VOD subtitle playlist (unless the final
    pass has already written its own). Resumes from what storage holds.
    """

    def __init__(self, storage: Storage, sitting_id: int, max_wait: float = MAX_WAIT) -> None:
        self.storage, self.sitting_id, self.max_wait = storage, sitting_id, max_wait
        self.rows: list[MediaSegment] = []  # every media row seen, in order
        self.published: list[MediaSegment] = []  # rows whose VTT segment is written
        self.placed_id = 0  # the newest live line already in a written VTT segment
        self._resumed = False

    def _resume(self, session: Session) -> None:
        done = {int(k.rsplit("_", 1)[1].removesuffix(".vtt"))
                for k in self.storage.list(f"{subs_prefix(self.sitting_id)}/{LIVE_TAG}/sub_")}
        self.rows = _media_rows(session, self.sitting_id)
        for row in self.rows:
            if row.seq not in done:
                break
            self.published.append(row)
        if self.published:
            last = self.published[-1]
            self.placed_id = session.scalar(
                select(TranscriptSegment.id).where(TranscriptSegment.sitting_id == self.sitting_id,
                                                   TranscriptSegment.source == SegmentSource.LIVE,
                                                   TranscriptSegment.start < last.media_start + last.duration)
                .order_by(TranscriptSegment.id.desc()).limit(1)) or 0
        self._resumed = True

    def update(self, session: Session, settled: float, ended: bool = False) -> int:
        """Write what has settled up to media time ``settled``; returns how many VTT segments were written."""
        if not self._resumed:
            self._resume(session)
        self.rows += _media_rows(session, self.sitting_id, self.rows[-1].seq if self.rows else -1)
        pending = [r for r in self.rows[len(self.published):]]
        recorded_end = max((r.media_start + r.duration for r in self.rows if not r.is_gap), default=0.0)
        ready: list[MediaSegment] = []
        for row in pending:
            end = row.media_start + row.duration
            if not (ended or end <= settled or recorded_end - end >= self.max_wait):
                break
            ready.append(row)
        if not ready and not ended:
            return 0
        first = next((r for r in ready if not r.is_gap), None)
        lines: list[Any] = []
        if first is not None:
            lines = list(session.scalars(select(TranscriptSegment).where(
                TranscriptSegment.sitting_id == self.sitting_id, TranscriptSegment.source == SegmentSource.LIVE,
                (TranscriptSegment.end > first.media_start) | (TranscriptSegment.id > self.placed_id))
                .order_by(TranscriptSegment.start)))
        written = 0
        for row in ready:
            if not row.is_gap and row.path:
                start, end = row.media_start, row.media_start + row.duration
                mine = [ln for ln in lines if (ln.start < end and ln.end > start) or
                        (ln.id > self.placed_id and ln.start < start)]
                doc = vtt_document([row_to_segment(ln) for ln in mine], start, segment_pts(self.storage, row.path))
                self.storage.put_bytes(vtt_key(self.sitting_id, LIVE_TAG, row.seq), doc.encode(), VTT_TYPE)
                self.placed_id = max([self.placed_id] + [ln.id for ln in mine])
                written += 1
            self.published.append(row)
        target = _target(self.rows)
        uri = lambda r: vtt_name(LIVE_TAG, r.seq)  # noqa: E731
        if self.published and any(not r.is_gap for r in self.published):
            window = build_playlist(self.published, ended, uri=uri, window=WINDOW, target=target)
            self.storage.put_bytes(live_subs_key(self.sitting_id), window.encode(), PLAYLIST_TYPE)
        if ended and not self.storage.exists(vod_subs_key(self.sitting_id)):
            vod = build_playlist(self.published, True, uri=uri, target=target)
            self.storage.put_bytes(vod_subs_key(self.sitting_id), vod.encode(), PLAYLIST_TYPE)
        return written
