"""The WebVTT subtitle rendition in HLS: real segments from ffmpeg, strict playlist and VTT checks."""

import subprocess
from datetime import UTC, datetime

import m3u8
import pytest
from sqlalchemy import select

from ingest.media import ffmpeg_exe
from ingest.recorder import Recorder
from sanarip.medialayout import edge_playlist_key, main_playlist_key, vod_playlist_key
from sanarip.models import MediaSegment, Sitting, TranscriptSegment
from sanarip.sittings import SittingStatus, create_sitting
from sanarip.subtitles import (
    WINDOW,
    LiveRendition,
    first_pts,
    live_subs_key,
    publish_stenogram,
    vod_subs_key,
    vtt_key,
)
from tests.streams import make_clip
from tests.validators import check_hls, check_hls_reload, check_hls_webvtt

LINES = [(0.4, 2.6, "Заседание открыто."), (2.8, 5.9, "Слово предоставляется докладчику."),
         (6.2, 7.1, "Спасибо.")]


def ffprobe_start_pts(path) -> int:
    """The segment's first timestamp as libavformat (PyAV, an independent reader) sees it, in 90 kHz ticks."""
    import av

    with av.open(str(path)) as container:
        return round(container.start_time * 90000 / av.time_base)


@pytest.fixture
def recorded(sqlite_runtime, tmp_path):
    """A 9 s clip imported through the real recorder (2 s segments, 1 s keyframes), with three lines."""
    rt = sqlite_runtime
    clip = make_clip(tmp_path / "clip.mp4", 9, gop=1.0)
    with rt.db.session() as s:
        from sanarip.catalog import add_committee

        committee = add_committee(s, "budget", "Budget committee")
        sitting = create_sitting(s, committee, title="t", source_url=str(clip))
        sitting.started_at = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
        sid = sitting.id
    Recorder(rt, sid, from_file=True).run()
    with rt.db.session() as s:
        for a, b, text in LINES:
            s.add(TranscriptSegment(sitting_id=sid, start=a, end=b, text=text, words=[], language="ru",
                                    source="final"))
    return rt, sid


def test_recorded_rendition_is_strict_hls_and_webvtt_aligned_to_the_video(recorded):
    rt, sid = recorded
    with rt.db.session(readonly=True) as s:
        tag = publish_stenogram(rt.storage, s, sid)
        rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sid).order_by(MediaSegment.seq)))
    assert len(rows) >= 4 and all(r.duration <= 2.6 for r in rows[:-1])  # 2 s segments at 1 s keyframes
    main = check_hls(rt.storage.get_bytes(main_playlist_key(sid)).decode())
    assert main.is_variant and main.media[0].type == "SUBTITLES" and main.media[0].uri == "subs/index.m3u8"
    assert main.playlists[0].uri == "index.m3u8" and main.playlists[0].stream_info.subtitles == "subs"
    check_hls(rt.storage.get_bytes(vod_playlist_key(sid)).decode(), final=True)
    subs = check_hls(rt.storage.get_bytes(vod_subs_key(sid)).decode(), final=True)
    assert [seg.uri for seg in subs.segments] == [f"{tag}/sub_{r.seq:05d}.vtt" for r in rows]
    assert [seg.duration for seg in subs.segments] == pytest.approx([r.duration for r in rows], abs=1e-3)
    seen = set()
    for row in rows:
        text = rt.storage.get_bytes(vtt_key(sid, tag, row.seq)).decode()
        captions, mpegts, local = check_hls_webvtt(text)
        assert abs(mpegts - ffprobe_start_pts(rt.storage.path(row.path))) <= 90 * 50  # within 50 ms of ffprobe
        assert abs(_seconds(local) - row.media_start) < 0.002
        for cue in captions:
            assert _seconds(cue.start) < row.media_start + row.duration and _seconds(cue.end) > row.media_start
            seen.add((_seconds(cue.start), cue.text))
    assert seen == {(a, text) for a, _, text in LINES}


def _seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_first_pts_reads_mpegts(tmp_path):
    path = tmp_path / "a.ts"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x64:rate=10:duration=1", "-output_ts_offset", "12.5", "-c:v", "libx264",
                    "-f", "mpegts", str(path)], check=True)
    assert abs(first_pts(path.read_bytes()) - ffprobe_start_pts(path)) <= 1
    assert first_pts(b"not a transport stream" * 20) is None


def test_live_rendition_writes_settled_segments_once_and_slides(recorded):
    rt, sid = recorded
    with rt.db.session() as s:
        s.get(Sitting, sid).status = SittingStatus.LIVE
        for row in s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)):
            row.source = "live"
    rendition = LiveRendition(rt.storage, sid, max_wait=1e9)  # only what has settled
    with rt.db.session(readonly=True) as s:
        rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sid).order_by(MediaSegment.seq)))
        assert rendition.update(s, settled=0.0) == 0 and not rt.storage.exists(live_subs_key(sid))
        settled = rows[1].media_start + rows[1].duration
        assert rendition.update(s, settled=settled) == 2
    first = rt.storage.get_bytes(live_subs_key(sid)).decode()
    playlist = check_hls(first)
    assert playlist.playlist_type is None and not playlist.is_endlist  # a sliding window, not an EVENT list
    assert [seg.uri for seg in playlist.segments] == ["live/sub_00000.vtt", "live/sub_00001.vtt"]
    written = rt.storage.get_bytes(vtt_key(sid, "live", rows[0].seq))
    with rt.db.session(readonly=True) as s:
        assert LiveRendition(rt.storage, sid, max_wait=1e9).update(s, settled=1e9) == len(rows) - 2  # resumed
    assert rt.storage.get_bytes(vtt_key(sid, "live", rows[0].seq)) == written  # never rewritten
    check_hls_reload(first, rt.storage.get_bytes(live_subs_key(sid)).decode())
    cues = set()
    for row in rows:
        cues |= {c.text for c in check_hls_webvtt(rt.storage.get_bytes(vtt_key(sid, "live", row.seq)).decode())[0]}
    assert cues == {text for _, _, text in LINES}
    with rt.db.session(readonly=True) as s:
        LiveRendition(rt.storage, sid).update(s, settled=1e9, ended=True)
    assert check_hls(rt.storage.get_bytes(vod_subs_key(sid)).decode(), final=True)


def test_a_live_segment_is_written_two_seconds_of_media_later_even_unsettled(recorded):
    """A player reads only subtitle segments ahead of its playhead: none may wait for the draft."""
    rt, sid = recorded
    with rt.db.session() as s:
        s.get(Sitting, sid).status = SittingStatus.LIVE
        for row in s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)):
            row.source = "live"
        rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sid).order_by(MediaSegment.seq)))
        recorded_end = rows[-1].media_start + rows[-1].duration
    with rt.db.session(readonly=True) as s:
        written = LiveRendition(rt.storage, sid).update(s, settled=0.0)
    assert written == sum(1 for r in rows if recorded_end - (r.media_start + r.duration) >= 2.0) > 0


def test_sliding_window_counts_what_slid_out(recorded):
    """The live media window: EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE as RFC 8216 §6.2.2 says."""
    from sanarip.medialayout import build_playlist

    class Row:
        def __init__(self, i, gap=False):
            self.seq, self.is_gap, self.duration, self.path = i, gap, 0.0 if gap else 2.0, f"s/seg_{i:05d}.ts"
            self.discontinuity, self.wall_clock_start = False, None

    rows = [Row(i, gap=i in (3, 20)) for i in range(30)]
    text = build_playlist(rows, False, window=WINDOW)
    playlist = check_hls(text)
    assert len(playlist.segments) == WINDOW and playlist.media_sequence == 28 - WINDOW
    assert playlist.discontinuity_sequence == 1 and sum(seg.discontinuity for seg in playlist.segments) == 1
    grown = build_playlist(rows + [Row(30)], False, window=WINDOW)
    check_hls_reload(text, grown)
    assert m3u8.loads(grown).media_sequence == 29 - WINDOW
    ended = build_playlist(rows + [Row(30)], True, window=WINDOW)  # the last reload of a live window
    check_hls_reload(grown, ended)
    assert check_hls(ended).is_endlist and ended.replace("#EXT-X-ENDLIST\n", "") == grown


def test_playlist_route_redirects_to_the_multivariant_file(recorded, settings_env):
    from sanarip.config import load_settings
    from web import create_app

    rt, sid = recorded
    with rt.db.session(readonly=True) as s:
        tag = publish_stenogram(rt.storage, s, sid)
    client = create_app(load_settings(settings_env)).test_client()
    resp = client.get(f"/s/{sid}/playlist.m3u8")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/media/sittings/{sid}/main.m3u8")
    main = client.get(f"/media/sittings/{sid}/main.m3u8")
    assert main.status_code == 200 and main.headers["Cache-Control"] == "public, max-age=1, must-revalidate"
    check_hls(main.get_data(as_text=True))
    vtt = client.get(f"/media/{vtt_key(sid, tag, 0)}")
    assert vtt.mimetype == "text/vtt" and vtt.headers["Cache-Control"] == "public, max-age=86400, immutable"
    again = client.get(f"/media/{vtt_key(sid, tag, 0)}", headers={"If-None-Match": vtt.headers["ETag"]})
    assert again.status_code == 304
    seg = client.get(f"/media/sittings/{sid}/seg_00000.ts")
    assert seg.headers["Cache-Control"] == "public, max-age=86400, immutable" and seg.headers["ETag"]
    assert check_hls(client.get(f"/media/{edge_playlist_key(sid)}").get_data(as_text=True))
