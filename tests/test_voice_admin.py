"""The admins' voice profile page (/admin/voices) with real speech (the shared speakers'
recordings), the real ``enroll_voice`` job in a worker (PyAV decoding, Silero VAD, the GE2E
encoder): only admins may use it, with CSRF; a good sample is stored as an embedding only; a
sample with no speech, too little speech or that is not media is refused with one translated
error and nothing stored; a profile is forgotten in one action."""

import json
import re
import tempfile
from contextlib import contextmanager
from io import BytesIO

import numpy as np
import pytest
from sqlalchemy import func, select

from sanarip.models import Person, VoiceProfile
from tests.livefeed import wav_bytes
from tests.test_clerk import app, logged_in  # noqa: F401 - the clerk tests' fixture
from transcribe.engine import decode

pytestmark = pytest.mark.slow
SPEAKER = "en_ls_1688"


@pytest.fixture
def sample(testdata) -> bytes:
    speakers = testdata / "speakers"
    if not (speakers / "enroll.json").is_file():
        pytest.skip("no shared speaker data")
    return (speakers / json.loads((speakers / "enroll.json").read_text())["enroll"][SPEAKER]).read_bytes()


@contextmanager
def decoded_path(data: bytes):
    with tempfile.NamedTemporaryFile(suffix=".flac") as fh:
        fh.write(data)
        fh.flush()
        yield fh.name


def profiles(app, person: int) -> int:  # noqa: F811
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        return s.scalar(select(func.count(VoiceProfile.id)).where(VoiceProfile.person_id == person))


def run_worker(app) -> None:  # noqa: F811
    import worker

    worker.Worker(app.extensions["sanarip"], kinds={"enroll_voice"}).run(until_idle=True)


def upload(client, headers, person: int, *files: tuple[str, bytes]):
    data = {"csrf_token": headers["X-CSRF-Token"], "action": "enrol", "person_id": str(person),
            "samples": [(BytesIO(body), name) for name, body in files]}
    return client.post("/admin/voices", data=data, headers={"Accept-Language": headers["Accept-Language"]},
                       content_type="multipart/form-data")


def outcome(client, lang: str = "en") -> str:
    html = client.get("/admin/voices", headers={"Accept-Language": lang}).get_data(as_text=True)
    row = re.search(r'<tr id="enrolment-\d+" class="(\w+)">(.*?)</tr>', html, re.S)
    return f"{row.group(1)}: {re.sub(r'<[^>]+>', ' ', row.group(2))}"


def test_only_admins_reach_the_page(app):  # noqa: F811
    anonymous = app.test_client()
    assert anonymous.get("/admin/voices").status_code == 302  # to the login page
    person = app.config["ids"]["person"]
    for user in ("clara", "eddie"):
        client, headers = logged_in(app, user)
        assert client.get("/admin/voices").status_code == 403
        resp = upload(client, headers, person, ("a.wav", b"RIFF"))
        assert resp.status_code == 403
        forget = client.post("/admin/voices", data={"csrf_token": headers["X-CSRF-Token"], "action": "forget",
                                                    "person_id": str(person)})
        assert forget.status_code == 403
    admin, headers = logged_in(app, "ada")
    assert admin.get("/admin/voices").status_code == 200
    no_csrf = admin.post("/admin/voices", data={"action": "forget", "person_id": str(person)})
    assert no_csrf.status_code in (400, 403)


def test_a_good_sample_is_stored_as_an_embedding_and_forgotten(app, sample):  # noqa: F811
    rt = app.extensions["sanarip"]
    person = app.config["ids"]["person"]
    client, headers = logged_in(app, "ada")
    # A sample over the app's 1 MB body limit (about a minute of WAV): the admin's form takes it,
    # a client without a session cannot make the server read it.
    with decoded_path(sample) as path:
        big = wav_bytes(np.tile(decode(path), 5))
    assert len(big) > 1 << 20
    anonymous = app.test_client().post("/admin/voices", data={"samples": [(BytesIO(big), "x.wav")]},
                                       content_type="multipart/form-data")
    assert anonymous.status_code in (401, 413)  # refused, nothing read or kept
    resp = upload(client, headers, person, ("reader.wav", big))
    assert resp.status_code == 303
    assert profiles(app, person) == 0 and "waiting" in outcome(client)
    run_worker(app)
    assert profiles(app, person) == 1
    assert outcome(client).startswith("stored: ") and "stored: 1 sample(s)" in outcome(client)
    assert rt.storage.list("work/enrol/") == []  # the audio is not kept
    with rt.db.session(readonly=True) as s:
        row = s.scalar(select(VoiceProfile).where(VoiceProfile.person_id == person))
        assert len(row.embedding) == 256 and row.seconds >= 3
    page = client.get("/admin/voices").get_data(as_text=True)
    assert f'id="profile-{person}"' in page
    resp = client.post("/admin/voices", data={"csrf_token": headers["X-CSRF-Token"], "action": "forget",
                                              "person_id": str(person)}, headers={"Accept-Language": "en"})
    assert resp.status_code == 200 and "Voice profile deleted: 1 sample(s)." in resp.get_data(as_text=True)
    assert profiles(app, person) == 0


def test_bad_samples_are_refused_with_one_error_and_nothing_stored(app, sample, testdata):  # noqa: F811
    rt = app.extensions["sanarip"]
    person = app.config["ids"]["person"]
    client, headers = logged_in(app, "ada")
    speech = decode(str(testdata / "speakers" / json.loads(
        (testdata / "speakers" / "enroll.json").read_text())["enroll"][SPEAKER]))
    cases = [
        (("notes.wav", b"this is not audio at all" * 40), "notes.wav: not an audio or video file that can be read."),
        (("quiet.wav", wav_bytes(np.zeros(16000 * 5, dtype=np.float32))),
         "quiet.wav: no speech was found; a voice sample needs at least 3 s of speech."),
        (("short.wav", wav_bytes(speech[16000 // 2:16000 * 2])), "short.wav: only "),
    ]
    for file, message in cases:
        # With a good sample beside it: all or nothing.
        assert upload(client, headers, person, ("good.flac", sample), file).status_code == 303
        run_worker(app)
        text = outcome(client)
        assert text.startswith("refused: ") and message in text, text
        assert profiles(app, person) == 0
        assert rt.storage.list("work/enrol/") == []
    assert "a voice sample needs at least 3 s." in outcome(client)  # the short one: its seconds, then the minimum
    assert "секунд" in outcome(client, "ru") or "с речи" in outcome(client, "ru")
    # Checked at once, nothing queued: no file, an empty file, an unknown person.
    resp = upload(client, headers, person)
    assert resp.status_code == 400 and "Choose at least one sample recording." in resp.get_data(as_text=True)
    resp = upload(client, headers, person, ("empty.wav", b""))
    assert resp.status_code == 400
    with rt.db.session(readonly=True) as s:
        unknown = (s.scalar(select(func.max(Person.id))) or 0) + 1
    resp = upload(client, headers, unknown, ("good.flac", sample))
    assert resp.status_code == 404 and "No such person." in resp.get_data(as_text=True)
    assert rt.storage.list("work/enrol/") == []
