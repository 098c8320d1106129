"""A real speech file imported into S3 storage (versitygw), transcribed, and served from presigned URLs."""

import io
import re
import urllib.request
import uuid

import av
import pytest

from sanarip.config import load_settings
from sanarip.medialayout import segment_key, vod_playlist_key
from sanarip.models import Sitting
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus
from sanarip.storage import S3Storage
from tests.conftest import run_cli
from tests.streams import make_clip
from web import create_app

pytestmark = pytest.mark.slow


def test_import_into_s3_is_transcribed_and_served(settings_env, s3_endpoint, testdata, tmp_path):
    bucket = f"b{uuid.uuid4().hex[:12]}"
    S3Storage(bucket, endpoint_url=s3_endpoint).client.create_bucket(Bucket=bucket)
    settings_env.update(SANARIP_MODEL="tiny.en", SANARIP_STORAGE=f"s3://{bucket}/archive",
                        SANARIP_S3_ENDPOINT=s3_endpoint)
    run_cli("committee", "add", "budget", "--name", "Budget", env=settings_env)
    src = make_clip(tmp_path / "sitting.mp4", 12, testdata / "en/jfk.flac")

    result = run_cli("import", str(src), "--committee", "budget", "--date", "2025-05-06", env=settings_env,
                     timeout=300)
    sid = int(result.stdout.split()[0])
    assert not (tmp_path / "data" / "media").exists()  # nothing went to the local folder
    assert f'"sitting": {sid}' in run_cli("search", "fellow americans", "--json", env=settings_env).stdout

    app = create_app(load_settings(settings_env))
    rt: Runtime = app.extensions["sanarip"]
    with rt.db.session(readonly=True) as s:
        assert s.get(Sitting, sid).status == SittingStatus.TRANSCRIBED
    store = rt.storage
    assert isinstance(store, S3Storage) and store.bucket == bucket
    assert store.exists(vod_playlist_key(sid)) and store.list("work/") == []  # working files gone
    raw = store.client.list_objects_v2(Bucket=bucket, Prefix=f"archive/sittings/{sid}/")["Contents"]
    assert any(obj["Key"].endswith("seg_00000.ts") for obj in raw)  # under the configured prefix

    client = app.test_client()
    resp = client.get(f"/media/{segment_key(sid, 0)}")
    assert resp.status_code == 302 and "X-Amz-Signature=" in resp.location
    with urllib.request.urlopen(resp.location) as direct:
        assert direct.read() == store.get_bytes(segment_key(sid, 0))

    playlist = client.get(f"/s/{sid}/playlist.m3u8").get_data(as_text=True)
    urls = re.findall(r"^https?://\S+$", playlist, flags=re.M)
    assert "#EXT-X-ENDLIST" in playlist and urls and all(u.startswith(s3_endpoint) for u in urls)
    media = b"".join(urllib.request.urlopen(u).read() for u in urls)
    samples = rate = 0
    with av.open(io.BytesIO(media), format="mpegts") as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    assert abs(samples / rate - 12.0) <= 0.6  # the whole sitting plays back from S3
    rt.close()
