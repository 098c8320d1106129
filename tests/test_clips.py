"""Clips: a range of a real recorded sitting as an MP4 cut by real ffmpeg (checked against the source's
own audio), with its transcript as a soft subtitle track or burned in; the embed page and oEmbed; the
range link in a real browser."""

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import av
import numpy as np
import pytest
from faster_whisper import decode_audio
from sqlalchemy import select

import worker
from ingest.clips import make_clip as cut_clip
from ingest.importer import register
from ingest.media import ffmpeg_exe
from ingest.smartcut import OFFSET, CannotSmartCut, smart_cut
from sanarip.clips import MAX_CLIP_SECONDS, ClipRange, RangeError, clip_key, clip_range, parse_range
from sanarip.config import load_settings
from sanarip.jobs import JobStatus
from sanarip.models import Job
from sanarip.pipeline import JobKind
from sanarip.runtime import Runtime
from sanarip.stenogram import Segment
from sanarip.transcripts import replace_automatic
from tests.conftest import ARTIFACTS, run_cli
from tests.services import end_process, free_port, wait_for_port
from tests.streams import make_clip
from web import create_app

pytestmark = pytest.mark.slow
LINES = [Segment(0.5, 3.0, "Первая строка заседания."), Segment(3.0, 6.0, "Вторая строка: бюджет."),
         Segment(6.0, 9.5, "Third line of the range."), Segment(14.0, 18.0, "Outside the range.")]


@pytest.fixture(scope="module")
def sitting(tmp_path_factory, testdata):
    """A 20 s recording (keyframes 2 s apart, real speech) imported as a sitting with four lines."""
    tmp = tmp_path_factory.mktemp("clips")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_SECRET_KEY="clips-test", SANARIP_CLIP_RATE_LIMIT="3")
    run_cli("committee", "add", "budget", "--name", "Budget committee", env=env)
    source = make_clip(tmp / "source.mp4", 20, testdata / "en/jfk.flac", size="320x180")
    rt = Runtime(load_settings(env))
    sid, _ = register(rt, source, "budget", "Clip sitting", None)
    worker.run_inline(rt, JobKind.IMPORT, {"sitting": sid})
    with rt.db.session() as s:
        replace_automatic(s, sid, LINES)
    yield {"rt": rt, "id": sid, "env": env, "source": source, "tmp": tmp}
    rt.close()


@pytest.fixture(scope="module")
def client(sitting):
    return create_app(load_settings(sitting["env"])).test_client()


def made(client, sitting, query: str) -> bytes:
    """Ask for a clip (202 while queued), run its job as a worker would, then fetch it (200)."""
    url = f"/s/{sitting['id']}/clip.mp4?{query}"
    first = client.get(url)
    assert first.status_code == 202 and first.headers["Retry-After"].isdigit()
    assert client.get(url).status_code == 202  # asked again: the same queued job
    with sitting["rt"].db.session(readonly=True) as s:
        queued = s.scalars(select(Job).where(Job.kind == JobKind.CLIP, Job.status == JobStatus.QUEUED)).all()
        assert len(queued) == 1
    worker.Worker(sitting["rt"], kinds={JobKind.CLIP}).run(until_idle=True)
    done = client.get(url)
    assert done.status_code == 200 and done.mimetype == "video/mp4"
    return done.get_data()


def streams(path: Path) -> dict[str, av.stream.Stream]:
    with av.open(str(path)) as container:
        return {s.type: (s.codec_context.name, float(s.duration * s.time_base) if s.duration else None)
                for s in container.streams}


def subtitles(path: Path) -> str:
    out = path.with_suffix(".srt")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-map", "0:s:0", str(out)], check=True)
    return out.read_text(encoding="utf-8")


def lag(source: Path, clip: Path, near: float) -> float:
    """Where in the source the clip's first second of audio is, found by cross-correlation."""
    src, cut = decode_audio(str(source)), decode_audio(str(clip))
    rate = 16000
    window = src[int((near - 1.0) * rate):int((near + 2.0) * rate)]
    probe = cut[:rate]
    scores = np.correlate(window, probe, mode="valid")
    return near - 1.0 + int(np.argmax(scores)) / rate


def test_ranges_are_read_as_people_write_them():
    assert parse_range("3.3-7.7") == ClipRange(3.3, 7.7)
    assert parse_range("1:05-1:10") == ClipRange(65.0, 70.0)
    assert parse_range("1:02:03-1:02:33") == ClipRange(3723.0, 3753.0)
    for bad in ("5", "7-3", "3-3", "a-b", "1:75-2:00", "-5", "3--5", ""):
        with pytest.raises(RangeError):
            parse_range(bad)
    with pytest.raises(RangeError, match="at most 15 minutes"):
        clip_range(f"0-{MAX_CLIP_SECONDS + 1}", 3600.0)
    with pytest.raises(RangeError, match="only 20.0 s long"):
        clip_range("25-30", 20.0)
    assert clip_range("15-40", 20.0) == ClipRange(15.0, 20.0)  # clipped to the sitting
    assert clip_key(7, parse_range("3.30-7.7")) == clip_key(7, parse_range("3.3-7.700"))  # one file per range


def test_mp4_of_a_range_is_cut_accurately_with_its_transcript(client, sitting):
    data = made(client, sitting, "t=3.3-7.7")
    clip = sitting["tmp"] / "soft.mp4"
    clip.write_bytes(data)
    kinds = streams(clip)
    assert kinds["video"][0] == "h264" and kinds["audio"][0] == "aac" and kinds["subtitle"][0] == "mov_text"
    assert abs(kinds["video"][1] - 4.4) <= 0.1 and abs(kinds["audio"][1] - 4.4) <= 0.1
    assert abs(lag(sitting["source"], clip, 3.3) - 3.3) <= 0.1  # starts where asked, though 3.3 s is mid-GOP
    srt = subtitles(clip)
    assert "Вторая строка: бюджет." in srt and "Third line" in srt and "Первая строка" not in srt.split("\n\n")[1:]
    assert "Outside the range" not in srt
    assert "00:00:00,000 --> 00:00:02,700" in srt  # the second line on the clip's clock (3.0-6.0 → 0-2.7)
    assert sitting["rt"].storage.exists(clip_key(sitting["id"], ClipRange(3.3, 7.7)))
    again = client.get(f"/s/{sitting['id']}/clip.mp4?t=3.30-7.70")  # another spelling of the range: made
    assert again.status_code == 200 and again.get_data() == data
    api = client.get(f"/api/v1/sittings/{sitting['id']}/clip?t=3.3-7.7").get_json()
    assert api["status"] == "ready" and api["url"].endswith(f"/s/{sitting['id']}/clip.mp4?t=3.3-7.7")


def test_burned_captions_are_drawn_into_the_picture(client, sitting):
    soft, burned = sitting["tmp"] / "soft2.mp4", sitting["tmp"] / "burned.mp4"
    soft.write_bytes(made(client, sitting, "t=3-6"))
    burned.write_bytes(made(client, sitting, "t=3-6&captions=burn"))

    def frame(path: Path) -> np.ndarray:
        with av.open(str(path)) as container:
            for f in container.decode(video=0):
                if f.time >= 1.0:
                    return f.to_ndarray(format="gray").astype(int)
        raise AssertionError("no frame after 1 s")

    diff = np.abs(frame(soft) - frame(burned))
    height = diff.shape[0]
    assert diff[2 * height // 3:].mean() > 4 * max(diff[:height // 3].mean(), 0.5)  # text at the bottom only


def test_bad_ranges_and_the_rate_limit(client, sitting):
    sid = sitting["id"]
    assert client.get(f"/s/{sid}/clip.mp4?t=7-3").status_code == 400
    assert client.get(f"/s/{sid}/clip.mp4?t=3").status_code == 400
    assert client.get(f"/s/{sid}/clip.mp4").status_code == 400
    assert client.get(f"/s/{sid}/clip.mp4?t=30-40").status_code == 400  # past the sitting's end
    assert client.get("/s/999999/clip.mp4?t=1-2").status_code == 404
    statuses = [client.get(f"/s/{sid}/clip.mp4?t=1-{2 + n}").status_code for n in range(4)]
    assert 429 in statuses  # at most 3 new clips an hour from one address (made clips are free: above)
    limited = client.get(f"/s/{sid}/clip.mp4?t=1-9")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_embed_page_may_be_framed_and_unfurls_through_oembed(client, sitting):
    sid = sitting["id"]
    embed = client.get(f"/embed/s/{sid}?t=3-6.5")
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"] and "X-Frame-Options" not in embed.headers
    html = embed.get_data(as_text=True)
    assert "Вторая строка" in html and "Third line" in html and "Outside the range" not in html
    assert 'data-end="6.5"' in html
    page = client.get(f"/s/{sid}")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    base = sitting["rt"].settings.base_url.rstrip("/")
    link = f"{base}/s/{sid}?t=3-6.5"
    answer = client.get("/oembed?" + urllib.parse.urlencode({"url": link, "maxwidth": 400}))
    assert answer.status_code == 200
    doc = answer.get_json()
    assert doc["type"] == "video" and doc["version"] == "1.0" and doc["width"] == 400
    assert f'src="{base}/embed/s/{sid}?t=3-6.5"' in doc["html"] and doc["title"] == "Clip sitting"
    assert client.get("/oembed?" + urllib.parse.urlencode({"url": "https://example.org/s/1"})).status_code == 404
    assert client.get("/oembed?" + urllib.parse.urlencode({"url": f"{base}/search"})).status_code == 404
    assert client.get("/oembed?" + urllib.parse.urlencode({"url": link, "format": "xml"})).status_code == 501
    ranged = client.get(f"/s/{sid}?t=0:03-0:06.5").get_data(as_text=True)
    assert 'data-end="6.5"' in ranged and f"/s/{sid}/clip.mp4?t=3-6.5" in ranged
    assert client.get(f"/s/{sid}?t=6-3").status_code == 400


@pytest.mark.browser
def test_range_link_plays_the_range_and_a_viewer_shares_one(browser, sitting):
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)],
                              env=sitting["env"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        wait_for_port(port, timeout=120, proc=server)
        base = f"http://127.0.0.1:{port}"
        page.goto(f"{base}/s/{sitting['id']}?t=3-6")
        page.wait_for_function("() => document.getElementById('player').readyState >= 2", timeout=20000)
        assert page.locator("#transcript .seg.in-range").count() == 1  # only the line 3.0-6.0 lies in 3-6
        page.evaluate("() => { const v = document.getElementById('player'); v.muted = true; return v.play(); }")
        page.wait_for_function("() => document.getElementById('player').paused && "
                               "document.getElementById('player').currentTime > 5", timeout=20000)
        stopped = page.evaluate("() => document.getElementById('player').currentTime")
        assert 5.8 <= stopped <= 6.3
        page.click("#range-pick")
        page.locator("#transcript .seg").nth(0).click()
        page.locator("#transcript .seg").nth(2).click()
        shared = page.input_value("#range-url")
        assert shared == f"{base}/s/{sitting['id']}?t=0.5-9.5"
        assert page.get_attribute("#range-mp4", "href") == f"/s/{sitting['id']}/clip.mp4?t=0.5-9.5"
        assert f'src="{base}/embed/s/{sitting["id"]}?t=0.5-9.5"' in page.input_value("#range-embed")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "clip-range.png"), full_page=True)
        context.close()
        end_process(server)


def gray_frames(path: Path, shift: float = 0.0) -> list[tuple[float, np.ndarray]]:
    """Every decoded frame of ``path``'s video as (time + shift, grey pixels)."""
    with av.open(str(path)) as container:
        return [(float(f.time) + shift, f.to_ndarray(format="gray").astype(int)) for f in container.decode(video=0)]


def assert_same_frames(reference: list[tuple[float, np.ndarray]], cut: list[tuple[float, np.ndarray]],
                       start: float, end: float, slack: float = 0.01) -> None:
    """``cut`` holds exactly the reference frames shown in [start, end), in order, each at its time and
    closer in pixels to its own source frame than to the frames either side (testsrc moves every frame).
    ``slack``: how far the two clocks may be apart (a sitting's starts at its first audio sample, the
    AAC priming before an MP4 source's first frame)."""
    times = [t for t, _ in reference]
    expected = [i for i, t in enumerate(times) if start - slack <= t < end - slack]
    assert len(cut) == len(expected), (len(cut), len(expected))
    for (t, pixels), i in zip(cut, expected, strict=True):
        assert abs(t - times[i]) <= slack, (t, times[i])
        diffs = {j: np.abs(reference[j][1] - pixels).mean() for j in (i - 1, i, i + 1) if 0 <= j < len(reference)}
        assert min(diffs, key=diffs.get) == i and diffs[i] < 2.0, (t, diffs)


def test_a_long_range_copies_its_middle_gops_and_keeps_every_frame(sitting):
    """3.3-15.7 s: 3.3-4.0 re-encoded (mid-GOP), the GOPs 4-14 copied packet for packet, 14-15.7 copied
    up to the end (no B-frames in this source); every frame is the source's, audio starts at 3.3 s."""
    rt, sid, source = sitting["rt"], sitting["id"], sitting["source"]
    rng = ClipRange(3.3, 15.7)
    clip = sitting["tmp"] / "long.mp4"
    clip.write_bytes(rt.storage.get_bytes(cut_clip(rt, sid, rng)))
    kinds = streams(clip)
    assert kinds["subtitle"][0] == "mov_text" and abs(kinds["video"][1] - rng.duration) <= 0.1
    assert abs(lag(source, clip, 3.3) - 3.3) <= 0.1
    assert_same_frames(gray_frames(source), gray_frames(clip, rng.start), rng.start, rng.end, slack=0.04)
    with av.open(str(source)) as container:  # the keyframe at 8 s: its slice data is in the clip as it was
        keyframe = next(bytes(p) for p in container.demux(video=0) if p.pts is not None
                        and p.is_keyframe and abs(float(p.pts * p.time_base) - 8.0) < 0.01)
    with av.open(str(clip)) as container:
        packets = [bytes(p) for p in container.demux(video=0) if p.size]
    assert any(keyframe[-2000:] in p for p in packets)
    assert "Третья" not in subtitles(clip) and "Outside the range." in subtitles(clip)


def test_smart_cut_re_encodes_a_last_gop_whose_frames_are_reordered(tmp_path):
    """A source with B-frames (x264 -bf 3), in 6 s TS segments as a recording stores it: the head and the
    last GOP are re-encoded, the GOPs between copied, every frame kept, decode times rising across the joins."""
    out = tmp_path / "seg_%03d.ts"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=14",
                    "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "50", "-pix_fmt", "yuv420p",
                    "-f", "segment", "-segment_time", "6", "-reset_timestamps", "0", str(out)], check=True)
    files = sorted(tmp_path.glob("seg_*.ts"))
    with av.open(str(files[0])) as first:
        origin = first.start_time / av.time_base
    reference = [(t - origin, f) for path in files for t, f in gray_frames(path)]
    cut = tmp_path / "cut.ts"
    report = smart_cut(files, origin, 3.3, 11.7, cut)
    assert report.parts == ["head", "tail"] and report.copied == 6 * 25  # the GOPs 4-10 s, six seconds
    assert report.encoded == round((4.0 - 3.3 + 11.7 - 10.0) * 25)
    with av.open(str(cut)) as container:
        dts = [p.dts for p in container.demux(video=0) if p.size]
    assert all(b > a for a, b in zip(dts, dts[1:], strict=False))
    assert_same_frames(reference, gray_frames(cut, 3.3 - OFFSET), 3.3, 11.7)
    mpeg2 = tmp_path / "mpeg2.ts"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=2",
                    "-c:v", "mpeg2video", str(mpeg2)], check=True)
    with pytest.raises(CannotSmartCut, match="not H.264"):  # make_clip re-encodes such a range whole
        smart_cut([mpeg2], 0.0, 0.5, 1.5, tmp_path / "none.ts")


@pytest.mark.browser
def test_a_smart_cut_clip_plays_across_its_joins_in_a_browser(browser, sitting):
    """Chromium plays the MP4 through the join from the re-encoded head (x264's parameter sets) into the
    copied GOPs (the source encoder's, carried in band) without a decoding error or a corrupted frame."""
    rt, sid = sitting["rt"], sitting["id"]
    cut_clip(rt, sid, ClipRange(3.3, 15.7))
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)],
                              env=sitting["env"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = browser.new_context()
    page = context.new_page()
    try:
        wait_for_port(port, timeout=120, proc=server)
        page.goto(f"http://127.0.0.1:{port}/s/{sid}")  # a page whose CSP lets it play this site's media
        page.evaluate("src => { const v = document.createElement('video'); v.id = 'clip'; v.muted = true; "
                      "v.src = src; document.body.append(v); }", f"/s/{sid}/clip.mp4?t=3.3-15.7")
        page.wait_for_function("() => document.getElementById('clip').readyState >= 2", timeout=20000)
        page.evaluate("() => document.getElementById('clip').play()")
        page.wait_for_function("() => document.getElementById('clip').currentTime > 3", timeout=30000)
        quality = page.evaluate("() => { const v = document.getElementById('clip'); const q = "
                                "v.getVideoPlaybackQuality(); return [v.error && v.error.code, "
                                "q.totalVideoFrames, q.corruptedVideoFrames]; }")
        assert quality[0] is None and quality[1] >= 20 and quality[2] == 0, quality
    finally:
        context.close()
        end_process(server)
