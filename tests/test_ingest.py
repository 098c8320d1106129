"""Recording simulated livestreams and importing files: real ffmpeg, real sockets on 127.0.0.1."""

import functools
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from ingest.audiotap import MIN_CHUNK
from ingest.media import ffmpeg_exe
from sanarip.config import load_settings
from sanarip.medialayout import AUDIO_CHUNK_SECONDS, audio_chunk_offset, live_playlist_key, vod_playlist_key
from sanarip.models import MediaSegment, Sitting, VoteEvent
from sanarip.runtime import Runtime
from tests.conftest import report_line, run_cli, startup, unavailable
from tests.services import RtspServer, free_port, gstreamer_rtsp_missing, rtsp_server
from tests.streams import HlsPublisher, http_folder, make_clip, rtmp_server
from tests.validators import check_hls, check_hls_reload
from transcribe.live import read_chunk

pytestmark = pytest.mark.slow


@pytest.fixture
def env(settings_env):
    settings_env.update(SANARIP_MODEL="tiny.en", SANARIP_RECONNECT_GRACE="30", SANARIP_JOB_LEASE="4")
    run_cli("committee", "add", "budget", "--name", "Budget", env=settings_env)
    return settings_env


@pytest.fixture
def rt(env):
    runtime = Runtime(load_settings(env))
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory, testdata):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", 20, testdata / "en/jfk.flac")


def rows(rt, sitting_id):
    with rt.db.session(readonly=True) as s:
        sitting = s.get(Sitting, sitting_id)
        segs = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sitting_id)
                              .order_by(MediaSegment.seq)))
        s.expunge_all()
        return sitting, segs


def decode_seconds(rt, sitting_id) -> float:
    """Decode the VOD playlist end to end; returns the decoded audio duration."""
    path = rt.storage.path(vod_playlist_key(sitting_id))
    samples = 0
    rate = 1
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    return samples / rate


def start_recording(env, source: str, *options: str) -> subprocess.Popen:
    """``sanarip record SOURCE --committee budget OPTIONS`` in the background, its output captured."""
    return subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "record", source, "--committee", "budget",
                             *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def recorded_with_one_gap(rt, sitting_id):
    """The recorded sitting, its one gap and its media segments, checked: none lost, none overlapping,
    the playlist as long as the sitting, ingest's short audio chunks for the live draft."""
    sitting, segs = rows(rt, sitting_id)
    assert sitting.status == "recorded"
    gaps = [s for s in segs if s.is_gap]
    assert len(gaps) == 1
    media = [s for s in segs if not s.is_gap]
    assert [s.seq for s in segs] == list(range(len(segs)))  # no segment lost
    assert all(abs(a.media_start + a.duration - b.media_start) < 1e-6 for a, b in pairwise(media))
    assert abs(decode_seconds(rt, sitting_id) - sitting.duration) <= 1.0
    # The live draft's audio chunks, stored as ffmpeg delivers the audio: numbered without a hole,
    # about a second each, the sitting's audio (each connection's last moment may stay in ffmpeg's
    # buffers), one after the other on the media timeline, but where the source dropped: the
    # audio of the media segment in progress was stored, the segment itself never listed, and
    # the next connection's audio starts where the media does (the live draft replaces the rest).
    chunks = sorted(rt.storage.list(f"work/sittings/{sitting_id}/audio/chunk_"))
    assert [int(k.rsplit("_", 2)[1]) for k in chunks] == list(range(len(chunks)))
    offsets = [audio_chunk_offset(k) for k in chunks]
    seconds = [len(read_chunk(rt.storage.get_bytes(k))) / 16000 for k in chunks]
    assert offsets[0] == 0.0 and all(0 < d <= AUDIO_CHUNK_SECONDS + MIN_CHUNK for d in seconds)
    overlaps = [a + d - b for a, d, b in zip(offsets, seconds, offsets[1:], strict=False) if a + d > b + 0.05]
    assert len(overlaps) <= 1 and all(o <= rt.settings.segment_seconds + 0.1 for o in overlaps), overlaps
    assert sitting.duration - 2.0 <= sum(seconds) - sum(overlaps) <= sitting.duration + 0.5
    return sitting, gaps[0], media


class LivePlaylist:
    """Reads a sitting's live playlist as a player polls it, checking each new version strictly."""

    def __init__(self, rt, sitting_id) -> None:
        self.rt, self.key = rt, live_playlist_key(sitting_id)
        self.last: str | None = None
        self.loads = 0

    def check(self) -> None:
        if not self.rt.storage.exists(self.key):
            return
        text = self.rt.storage.get_bytes(self.key).decode()
        if text == self.last:
            return
        check_hls(text, final=False)
        if self.last is not None:
            check_hls_reload(self.last, text)
        self.last, self.loads = text, self.loads + 1


def test_hls_recording_survives_a_drop(env, rt, clip, tmp_path):
    pub = HlsPublisher(clip, tmp_path / "src", loop=True)
    with http_folder(tmp_path / "src") as base:
        pub.start()
        time.sleep(4)
        rec = start_recording(env, f"{base}/live.m3u8", "--duration", "50")
        began = datetime.now(UTC)
        time.sleep(16)
        pub.kill()
        killed = datetime.now(UTC)
        time.sleep(10)
        pub.start(append=True)
        restarted = datetime.now(UTC)
        out, err = rec.communicate(timeout=120)
        pub.kill()
    assert rec.returncode == 0, err
    sitting_id = int(out.split()[0])
    sitting, gap, _ = recorded_with_one_gap(rt, sitting_id)
    assert abs((gap.wall_clock_start - killed).total_seconds()) <= 2.5
    assert abs((gap.wall_clock_end - restarted).total_seconds()) <= 2.5
    published = (killed - began).total_seconds() + (began + timedelta(seconds=50) - restarted).total_seconds()
    assert abs(sitting.duration - published) <= 6.0 + 1.5  # within one segment (plus start-up)
    playlist = rt.storage.get_bytes(vod_playlist_key(sitting_id)).decode()
    assert "#EXT-X-DISCONTINUITY" in playlist and "#EXT-X-PROGRAM-DATE-TIME" in playlist
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    check_hls(playlist, final=True, discontinuities=1)


@pytest.fixture
def rtsp_source(request, tmp_path, testdata) -> Iterator[RtspServer]:
    """GStreamer's RTSP server looping a 12 s H.264/AAC clip with a keyframe every second."""
    missing = gstreamer_rtsp_missing()
    if missing:
        unavailable(missing)
    source = rtsp_server(make_clip(tmp_path / "rtsp.mp4", 12, testdata / "en/jfk.flac", gop=1.0))
    with startup("rtsp"):
        server = source.__enter__()
    try:
        report_line(request.config, f"RTSP server: {server.version} (gst-rtsp-server) at {server.url}")
        yield server
    finally:
        source.__exit__(None, None, None)


def test_rtsp_recording_survives_a_server_restart(env, rt, rtsp_source):
    rec = start_recording(env, rtsp_source.url, "--duration", "45")
    try:
        began = datetime.now(UTC)
        sitting_id = int(rec.stdout.readline())
        live = LivePlaylist(rt, sitting_id)

        def follow(seconds: float) -> None:
            for _ in range(int(seconds)):
                live.check()
                time.sleep(1)

        follow(18)  # past the clip's first loop
        rtsp_source.stop()
        killed = datetime.now(UTC)
        follow(10)
        with startup("rtsp"):
            rtsp_source.start()  # the same port
        restarted = datetime.now(UTC)
        while rec.poll() is None and datetime.now(UTC) < began + timedelta(seconds=120):
            follow(1)
        out, err = rec.communicate(timeout=60)
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
    assert rec.returncode == 0, err
    sitting, gap, media = recorded_with_one_gap(rt, sitting_id)
    assert abs((gap.wall_clock_start - killed).total_seconds()) <= 2.5
    # back within one retry (2 s) and one probe of the returned server
    assert -0.5 <= (gap.wall_clock_end - restarted).total_seconds() <= 6.0
    recorded_wall = (gap.wall_clock_start - media[0].wall_clock_start) + (media[-1].wall_clock_end - gap.wall_clock_end)
    assert abs(sitting.duration - recorded_wall.total_seconds()) <= 1.0
    assert sitting.duration >= 45 - 10 - 6 - 6  # less the outage, the reconnect and the first probe
    check_hls(rt.storage.get_bytes(vod_playlist_key(sitting_id)).decode(), final=True, discontinuities=1)
    assert live.loads >= 3 and live.last.count("#EXT-X-DISCONTINUITY") == 1  # reloads across the gap


def test_source_ending_finishes_after_grace(env, rt, tmp_path, testdata):
    env["SANARIP_RECONNECT_GRACE"] = "8"
    short = make_clip(tmp_path / "short.mp4", 12, testdata / "en/jfk.flac")
    pub = HlsPublisher(short, tmp_path / "src")
    with http_folder(tmp_path / "src") as base:
        pub.start()
        time.sleep(3)
        t0 = time.monotonic()
        out = run_cli("record", f"{base}/live.m3u8", "--committee", "budget", env=env, timeout=120).stdout
        took = time.monotonic() - t0
    sitting, segs = rows(rt, int(out.split()[0]))
    assert sitting.status == "recorded" and 5 <= sitting.duration <= 12
    check_hls(rt.storage.get_bytes(vod_playlist_key(sitting.id)).decode(), final=True, discontinuities=0)
    assert took < 9 + 8 + 12  # remaining stream + stall detection + grace


def test_unreachable_and_non_media_sources_fail_clearly(env, rt, tmp_path):
    bad = run_cli("record", "http://127.0.0.1:1/live.m3u8", "--committee", "budget", "--duration", "5",
                  env=env, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: cannot open source")
    sitting, _ = rows(rt, int(bad.stdout.split()[0]))
    assert sitting.status == "failed" and "cannot open source" in sitting.failure_reason
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "notes.txt").write_text("not a video\n" * 100)
    with http_folder(tmp_path / "www") as base:
        bad = run_cli("record", f"{base}/notes.txt", "--committee", "budget", "--duration", "5", env=env, check=False)
    assert bad.returncode == 1 and "not playable media" in bad.stderr
    listing = run_cli("sitting", "list", env=env).stdout
    assert listing.count("failed") == 2
    assert run_cli("record", "nope://x", "--committee", "budget", env=env, check=False).returncode == 1
    unknown = run_cli("record", "http://127.0.0.1:1/x.m3u8", "--committee", "zzz", env=env, check=False)
    assert "unknown committee 'zzz'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_rtmp_source(env, rt, tmp_path, testdata):
    short = make_clip(tmp_path / "short.mp4", 10, testdata / "en/jfk.flac")
    with rtmp_server(short) as url:
        time.sleep(0.5)
        env["SANARIP_RECONNECT_GRACE"] = "5"
        out = run_cli("record", url, "--committee", "budget", "--duration", "30", env=env, timeout=120).stdout
    sitting, segs = rows(rt, int(out.split()[0]))
    assert sitting.status == "recorded" and 7 <= sitting.duration <= 11
    assert abs(decode_seconds(rt, sitting.id) - sitting.duration) <= 1.0
    check_hls(rt.storage.get_bytes(vod_playlist_key(sitting.id)).decode(), final=True, discontinuities=0)


def test_stop_command_ends_a_recording(env, rt, clip, tmp_path):
    pub = HlsPublisher(clip, tmp_path / "src", loop=True)
    with http_folder(tmp_path / "src") as base:
        pub.start()
        time.sleep(3)
        rec = start_recording(env, f"{base}/live.m3u8")
        sitting_id = int(rec.stdout.readline())
        time.sleep(10)
        assert run_cli("stop", str(sitting_id), env=env).returncode == 0
        rec.wait(60)
        pub.kill()
    sitting, segs = rows(rt, sitting_id)
    assert sitting.status == "recorded" and sitting.duration >= 6
    check_hls(rt.storage.get_bytes(vod_playlist_key(sitting_id)).decode(), final=True, discontinuities=0)
    again = run_cli("stop", str(sitting_id), env=env, check=False)
    assert again.returncode == 1 and "not live" in again.stderr


def _ffmpeg_children(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "ffmpeg" in line and marker in line]


def test_killed_worker_resumes_elsewhere_with_a_gap(env, rt, clip, tmp_path):
    pub = HlsPublisher(clip, tmp_path / "src", loop=True)
    exe = str(Path(sys.executable).parent / "sanarip")
    with http_folder(tmp_path / "src") as base:
        pub.start()
        time.sleep(3)
        start = datetime.now(UTC)
        sid = int(run_cli("schedule", "add", "--committee", "budget", "--start", start.isoformat(),
                          "--end", (start + timedelta(seconds=45)).isoformat(), "--source", f"{base}/live.m3u8",
                          env=env).stdout)
        first = subprocess.Popen([exe, "worker", "--kinds", "record"], env=env, stderr=subprocess.DEVNULL)
        second = None
        try:
            time.sleep(15)
            marker = f"{env['SANARIP_DATA_DIR']}/work/record-{sid}/"  # this test's ffmpeg, not a parallel run's
            assert _ffmpeg_children(marker), "the worker's ffmpeg is running"
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed = datetime.now(UTC)
            time.sleep(1)
            assert not _ffmpeg_children(marker), "ffmpeg died with its worker"
            second = subprocess.Popen([exe, "worker", "--kinds", "record"], env=env, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 90
            live = LivePlaylist(rt, sid)
            while rows(rt, sid)[0].status != "recorded" and time.monotonic() < deadline:
                live.check()
                time.sleep(1)
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
            pub.kill()
    sitting, segs = rows(rt, sid)
    assert sitting.status == "recorded"
    gaps = [s for s in segs if s.is_gap]
    assert len(gaps) == 1
    assert abs((gaps[0].wall_clock_start - killed).total_seconds()) <= 6.0 + 2  # the segment in progress
    assert (gaps[0].wall_clock_end - gaps[0].wall_clock_start).total_seconds() >= 4  # lease expiry
    assert abs(decode_seconds(rt, sid) - sitting.duration) <= 1.0
    assert "#EXT-X-DISCONTINUITY" in rt.storage.get_bytes(vod_playlist_key(sid)).decode()
    check_hls(rt.storage.get_bytes(vod_playlist_key(sid)).decode(), final=True, discontinuities=1)
    assert live.loads >= 2


def _make(path: Path, speech: Path, args: list[str]) -> Path:
    video = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=8"] if "-an" not in args else []
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *video, "-i", str(speech), "-t", "8",
           *[a for a in args if a != "-an"], str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.mark.parametrize(("name", "args"), [
    ("a.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
    ("a.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
    ("a.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"]),
    ("a.mp3", ["-an", "-c:a", "libmp3lame"]),
    ("a.wav", ["-an", "-c:a", "pcm_s16le"]),
    ("a.flac", ["-an", "-c:a", "flac"]),
])
def test_import_formats(env, rt, tmp_path, testdata, name, args):
    src = _make(tmp_path / name, testdata / "en/jfk.flac", args)
    result = run_cli("import", str(src), "--committee", "budget", "--date", "2025-05-06", env=env, timeout=300)
    sid = int(result.stdout.split()[0])
    sitting, segs = rows(rt, sid)
    assert sitting.status == "transcribed" and abs(sitting.duration - 8.0) <= 0.6
    check_hls(rt.storage.get_bytes(vod_playlist_key(sid)).decode(), final=True, discontinuities=0)
    assert sitting.started_at.date().isoformat() == "2025-05-06"
    assert abs(decode_seconds(rt, sid) - 8.0) <= 0.6
    hits = run_cli("search", "fellow americans", "--json", env=env).stdout
    assert f'"sitting": {sid}' in hits
    assert "%" in result.stderr or "it/s" in result.stderr or "step" in result.stderr  # progress shown
    again = run_cli("import", str(src), "--committee", "budget", env=env)
    assert int(again.stdout.split()[0]) == sid and "already imported" in again.stderr


def test_import_errors(env, tmp_path, testdata):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not media")
    bad = run_cli("import", str(notes), "--committee", "budget", env=env, check=False)
    assert bad.returncode == 1 and "not playable media" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("import", str(testdata / "en/jfk.flac"), "--committee", "nope", env=env, check=False)
    assert bad.returncode == 1 and "sanarip committee add nope" in bad.stderr
    bad = run_cli("import", str(tmp_path / "missing.mp4"), "--committee", "budget", env=env, check=False)
    assert bad.returncode == 1 and "no such file" in bad.stderr
    assert run_cli("sitting", "list", "--json", env=env).stdout.strip() == "[]"


# --- a source whose clock is not the receive time ----------------------------------------------------
PDT_LINE = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)$")


class ShiftedClockHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the publisher's folder, with every EXT-X-PROGRAM-DATE-TIME moved by ``shift`` seconds:
    a source whose clock lags (negative) or leads the receive time. Notes each segment's stated time."""

    shift = 0.0
    stated: dict[str, datetime] = {}

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if not self.path.split("?")[0].endswith(".m3u8"):
            return super().do_GET()
        try:
            text = Path(self.translate_path(self.path.split("?")[0])).read_text()
        except OSError:
            return self.send_error(404)
        out, pending = [], None
        for line in text.splitlines():
            found = PDT_LINE.match(line)
            if found:
                pending = datetime.fromisoformat(found.group(1)) + timedelta(seconds=self.shift)
                line = f"#EXT-X-PROGRAM-DATE-TIME:{pending.isoformat(timespec='milliseconds')}"
            elif line and not line.startswith("#") and pending is not None:
                self.stated[line] = pending
                pending = None
            out.append(line)
        body = ("\n".join(out) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.apple.mpegurl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def video_packets(path: Path) -> list[tuple[bytes, float]]:
    """Each video packet of a segment file with its time from the file's start (its first timestamp)."""
    with av.open(str(path)) as container:
        start = container.start_time / av.time_base
        video = container.streams.video[0]
        return [(bytes(p), float(p.pts * video.time_base) - start) for p in container.demux(video) if p.size]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, testdata):
    """45 s of test picture (every frame differs: its packets identify a moment) and speech."""
    return make_clip(tmp_path_factory.mktemp("long") / "long.mp4", 45, testdata / "en/jfk.flac")


@pytest.mark.parametrize("shift", [-30.0, 20.0], ids=["lagging", "leading"])
def test_segments_and_votes_follow_the_sources_program_date_time(env, rt, long_clip, tmp_path, shift):
    """The recorder stamps its segments with the source's clock (EXT-X-PROGRAM-DATE-TIME), not with
    the time it received them: a vote pushed at the source's time of a moment lands on that moment.

    Ground truth is the media itself: the recording copies the source's packets, so the first
    packet of each recorded segment is found in a source segment, whose stated time plus the
    packet's offset in it is that moment by the source's clock."""
    folder = tmp_path / "src"
    pub = HlsPublisher(long_clip, folder)
    handler = type("Shifted", (ShiftedClockHandler,), {"shift": shift, "stated": {}})
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pub.start()
        time.sleep(5)
        began = datetime.now(UTC)
        rec = start_recording(env, f"http://127.0.0.1:{port}/live.m3u8", "--duration", "16")
        out, err = rec.communicate(timeout=120)
    finally:
        pub.kill()
        server.shutdown()
        server.server_close()
    assert rec.returncode == 0, err
    sitting_id = int(out.split()[0])
    sitting, segs = rows(rt, sitting_id)
    source_clock: dict[bytes, datetime] = {}
    for name, stamp in handler.stated.items():
        for data, offset in video_packets(folder / name) if (folder / name).is_file() else []:
            source_clock.setdefault(data, stamp + timedelta(seconds=offset))
    moments = []  # (media second, the source's clock there, the recorder's stamp there)
    for seg in (s for s in segs if not s.is_gap):
        data, offset = video_packets(rt.storage.path(seg.path))[0]
        if data in source_clock:
            moments.append((seg.media_start + offset, source_clock[data],
                            seg.wall_clock_start + timedelta(seconds=offset)))
    assert len(moments) >= 3, "the recorded segments' packets were not found in the source"
    for _, source_time, stamped in moments:
        assert abs((stamped - source_time).total_seconds()) <= 1.0
    # Not the receive time: that is ``shift`` seconds away from the source's clock.
    first = next(s for s in segs if not s.is_gap)
    assert abs((first.wall_clock_start - began).total_seconds() - shift) <= 6.0
    # Votes pushed at the source's time of two recorded moments land on them (±2 s).
    chosen = [moments[1], moments[-2]]
    events = [{"identifier": f"ve-{shift:+.0f}-{n}", "motion": {"text": "Adopt Bill 5"}, "result": "adopted",
               "start_date": source_time.isoformat()} for n, (_, source_time, _) in enumerate(chosen)]
    (tmp_path / "votes.json").write_text(json.dumps(events), encoding="utf-8")
    run_cli("votes", "import", str(sitting_id), str(tmp_path / "votes.json"), env=env)
    with rt.db.session(readonly=True) as s:
        placed = {ve.identifier: ve.media_time for ve in s.scalars(select(VoteEvent)
                                                                   .where(VoteEvent.sitting_id == sitting_id))}
    for event, (second, _, _) in zip(events, chosen, strict=True):
        assert abs(placed[event["identifier"]] - second) <= 2.0, (placed, chosen)
