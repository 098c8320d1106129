"""Poster frames: real ffmpeg takes one frame per sitting at import; the home page shows it as the
card's image, and for a sitting without one it queues a ``poster`` job instead of running ffmpeg."""

import subprocess

import av
import pytest
from sqlalchemy import select

import worker
from ingest.importer import register
from ingest.media import ffmpeg_exe
from ingest.poster import make_poster, poster_moment
from sanarip.config import load_settings
from sanarip.medialayout import poster_key
from sanarip.models import Job, Sitting
from sanarip.pipeline import JobKind
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus
from tests.conftest import run_cli
from tests.streams import make_clip
from web import create_app

pytestmark = pytest.mark.slow


@pytest.fixture
def env(settings_env):
    run_cli("committee", "add", "budget", "--name", "Budget committee", env=settings_env)
    return settings_env


@pytest.fixture
def rt(env):
    runtime = Runtime(load_settings(env))
    yield runtime
    runtime.close()


def imported(rt, path) -> int:
    sitting, _ = register(rt, path, "budget", "Poster sitting", None)
    worker.run_inline(rt, JobKind.IMPORT, {"sitting": sitting})
    return sitting


def decoded(data_path) -> av.VideoFrame:
    with av.open(str(data_path)) as container:
        return next(container.decode(video=0))


def test_import_takes_a_poster_frame(rt, tmp_path):
    sitting = imported(rt, make_clip(tmp_path / "clip.mp4", 12, size="320x180"))
    key = poster_key(sitting)
    assert rt.storage.exists(key), "the import stored no poster frame"
    frame = decoded(rt.storage.path(key))
    assert (frame.width, frame.height) == (320, 180)  # never scaled up past the source
    assert rt.storage.get_bytes(key)[:3] == b"\xff\xd8\xff"  # a JPEG


def test_audio_only_sitting_has_no_poster(rt, tmp_path):
    wav = tmp_path / "tone.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=5", str(wav)],
                   check=True)
    sitting = imported(rt, wav)
    assert make_poster(rt, sitting) is None
    assert not rt.storage.exists(poster_key(sitting))


def test_poster_moment_is_a_third_in_at_most_ten_minutes():
    assert poster_moment(30) == 10
    assert poster_moment(3 * 3600) == 600
    assert poster_moment(0) == 0


def test_home_page_queues_a_poster_job_then_shows_the_frame(rt, env, tmp_path):
    sitting = imported(rt, make_clip(tmp_path / "clip.mp4", 8))
    rt.storage.delete(poster_key(sitting))  # as for a sitting recorded before posters existed
    with rt.db.session() as s:
        s.get(Sitting, sitting).status = SittingStatus.TRANSCRIBED
    app = create_app(load_settings(env))
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert "Poster sitting" in html and 'class="card"' in html
    assert poster_key(sitting) not in html
    with rt.db.session(readonly=True) as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == JobKind.POSTER)))
    assert [j.payload for j in jobs] == [{"sitting": sitting}]
    client.get("/")  # a second visit queues nothing more
    with rt.db.session(readonly=True) as s:
        assert len(list(s.scalars(select(Job).where(Job.kind == JobKind.POSTER)))) == 1
    worker.run_inline(rt, JobKind.POSTER, {"sitting": sitting})
    assert rt.storage.exists(poster_key(sitting))
    from web.public import _poster_url

    _poster_url.cache.clear()  # the page looks again after POSTER_CHECK_SECONDS; the test does not wait
    html = client.get("/").get_data(as_text=True)
    src = f"/media/{poster_key(sitting)}"
    assert f'<img src="{src}"' in html
    resp = client.get(src)
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
