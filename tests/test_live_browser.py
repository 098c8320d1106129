"""Live delivery end to end: real ffmpeg publishing live HLS with real speech, `sanarip record`, the
live draft in a worker, `sanarip serve`, and a real browser (Chromium) on the live page.

The page must get the transcript from the stream's own subtitle rendition: the subtitle track
exists in hls.js, its cues sit on the video's timeline at the transcript's media times, the
panel highlights the cue under ``video.currentTime``, and new lines keep arriving. Every
playlist and VTT segment published meanwhile is checked strictly.
"""

import json
import os
import re
import time
import urllib.request

import m3u8
import pytest

from tests.conftest import ARTIFACTS, run_cli
from tests.streams import live_chain, make_clip
from tests.validators import check_hls, check_hls_reload, check_hls_webvtt

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read()


class Published:
    """Reads the sitting's public playlists and VTT segments as players do, checking each strictly."""

    def __init__(self, base: str, sitting: int) -> None:
        self.media = f"{base}/media/sittings/{sitting}/"
        self.last: dict[str, str] = {}
        self.vtt_checked: set[str] = set()

    def check(self) -> None:
        for name in ("main.m3u8", "edge.m3u8", "subs/live.m3u8"):
            try:
                text = _get(self.media + name).decode()
            except urllib.error.HTTPError:
                continue
            check_hls(text)
            if name in self.last and name != "main.m3u8":
                check_hls_reload(self.last[name], text)
            self.last[name] = text
            if name == "subs/live.m3u8":
                for seg in m3u8.loads(text).segments:
                    if seg.uri not in self.vtt_checked:
                        check_hls_webvtt(_get(self.media + "subs/" + seg.uri).decode())
                        self.vtt_checked.add(seg.uri)


def test_live_page_follows_the_subtitle_rendition(tmp_path, testdata, browser):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp_path / "data"), SANARIP_MODEL="tiny.en", SANARIP_SECRET_KEY="live-test")
    run_cli("committee", "add", "budget", "--name", "Budget committee", "--language", "en", env=env)
    clip = make_clip(tmp_path / "clip.mp4", 50, testdata / "en/librivox_shakespeare_sonnet001.wav", gop=1.0)
    with live_chain(tmp_path / "src", clip, env, duration=70) as chain:
        base, sitting, recorder = chain.url, chain.sitting, chain.recorder
        published = Published(base, sitting)
        deadline = time.monotonic() + 60
        while "main.m3u8" not in published.last and time.monotonic() < deadline:
            published.check()
            time.sleep(0.5)
        page = browser.new_context(locale="en-US").new_page()
        page.goto(f"{base}/live/{sitting}")
        # The subtitle track exists in hls.js and fills with cues.
        page.wait_for_function("() => window.sanaripHls && window.sanaripHls.subtitleTracks.length === 1"
                               " && window.sanaripHls.subtitleTrack === 0", timeout=30_000)
        try:
            page.wait_for_function("() => Array.from(document.getElementById('player').textTracks)"
                                   ".some((t) => t.cues && t.cues.length > 0)", timeout=90_000)
        except Exception as exc:
            published.check()
            state = page.evaluate("""() => ({tracks: Array.from(document.getElementById('player').textTracks)
                .map((t) => [t.kind, t.label, t.mode, t.cues && t.cues.length]),
                time: document.getElementById('player').currentTime, log: window.sanaripLog || []})""")
            raise AssertionError(f"no cues: {state}; {sorted(published.vtt_checked)[:3]} {published.last}") from exc
        lines = "#transcript li.seg:not(.partial)"
        page.wait_for_selector(lines, timeout=10_000)  # the panel is built from those cues
        published.check()
        cue_ids = f"() => Array.from(document.querySelectorAll('{lines}')).map((li) => li.dataset.cue)"
        first = set(page.evaluate(cue_ids))
        began = time.monotonic()
        timeline = []  # (seconds, lines on the page, lines in the database, VTT segments listed)
        stored_ids = []  # the database's line ids at each of those moments
        while time.monotonic() - began < 30:
            shown = set(page.evaluate(cue_ids))
            rows = json.loads(_get(f"{base}/live/{sitting}/segments?after=-1"))["segments"]
            stored_ids.append({str(r["id"]) for r in rows})
            listed = len(m3u8.loads(_get(published.media + "subs/live.m3u8").decode()).segments)
            timeline.append((round(time.monotonic() - began, 1), len(shown), len(rows), listed))
            if shown - first:
                break
            time.sleep(0.5)
        # A line the draft has stored reaches the page within 10 s (its cue is published and the
        # player reaches it); how soon the draft stores the next line depends on the speech. The
        # new line's storage is timed from the samples (from the first, if it was stored before).
        stored_at = next((t for (t, *_), ids in zip(timeline, stored_ids, strict=True) if ids & (shown - first)),
                         None)
        assert shown - first and stored_at is not None, f"no new line within 30 s: {timeline}"
        assert timeline[-1][0] - stored_at <= 10, f"a stored line took over 10 s to show: {timeline}"
        # The highlighted line is the cue under the playhead. At the live edge the newest words are
        # not cues yet, so the viewer steps back into the newest line (as after a click on it).
        page.evaluate("""() => { const v = document.getElementById('player');
            const track = Array.from(v.textTracks).find((t) => t.cues && t.cues.length);
            const cues = Array.from(track.cues).filter((c) => c.endTime - c.startTime > 0.6);
            v.currentTime = cues[cues.length - 1].startTime + 0.3; }""")
        page.wait_for_function("""() => {
            const v = document.getElementById('player');
            const track = Array.from(v.textTracks).find((t) => t.cues && t.cues.length);
            const under = Array.from(track.cues).find((c) => c.startTime <= v.currentTime
                                                            && v.currentTime < c.endTime);
            const lit = document.querySelector('#transcript li.current');
            return under && lit && lit.dataset.cue === under.id;
        }""", timeout=30_000)
        snapshot = page.evaluate("""() => {
            const hls = window.sanaripHls;
            const frag = hls.levels[hls.currentLevel >= 0 ? hls.currentLevel : 0].details.fragments[0];
            const track = Array.from(document.getElementById('player').textTracks)
                .find((t) => t.cues && t.cues.length);
            return {sn: frag.sn, start: frag.start,
                    cues: Array.from(track.cues).map((c) => ({id: c.id, start: c.startTime, text: c.text}))};
        }""")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live-subtitles.png"), full_page=True)
        # The cues sit on the video's timeline at the transcript's media times: the player's time of
        # media segment n is its start in the EVENT playlist (all segments) minus the window's offset.
        durations = [seg.duration for seg in m3u8.loads(_get(published.media + "live.m3u8").decode()).segments]
        offset = sum(durations[:snapshot["sn"]]) - snapshot["start"]
        rows = {str(r["id"]): r for r in json.loads(_get(f"{base}/live/{sitting}/segments?after=-1"))["segments"]}
        assert snapshot["cues"]
        for cue in snapshot["cues"]:
            row = rows[cue["id"]]
            assert abs(cue["start"] + offset - row["start"]) <= 0.5, (cue, row, offset)
            assert re.sub(r"<[^>]*>", "", cue["text"]) == row["text"]  # a <lang xx> span marks the language
        while recorder.poll() is None:
            published.check()
            time.sleep(1)
        published.check()
        assert len(published.vtt_checked) >= 10
