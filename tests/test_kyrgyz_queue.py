"""The clerks' Kyrgyz queue, the language report, the labels in exports, and a clerk's text relabelling a segment."""

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from sanarip.models import TranscriptSegment
from sanarip.stenogram import Segment, Stenogram, Word, to_akoma_ntoso, to_json, to_srt, to_webvtt
from tests.test_clerk import app, logged_in, segments  # noqa: F401 - the clerk tests' app fixture
from tests.validators import check_srt, check_webvtt


@pytest.fixture
def waiting(app):  # noqa: F811 - the fixture imported above
    """A 7.5 s Kyrgyz passage waiting for a clerk, after the seeded sitting's lines."""
    rt = app.extensions["sanarip"]
    with rt.db.session() as s:
        row = TranscriptSegment(sitting_id=app.config["ids"]["sitting"], start=30.0, end=37.5, text="", words=[],
                                language="ky", needs_transcription=True)
        s.add(row)
        s.flush()
        return row.id


def test_queue_lists_the_passage_and_a_save_takes_it_off(app, waiting):  # noqa: F811
    client, headers = logged_in(app, "clara")
    page = client.get("/clerk/kyrgyz").get_data(as_text=True)
    assert f'id="kq-seg-{waiting}"' in page and "7.5 s" in page and 'data-start="30.0"' in page
    assert "/static/kyrgyzqueue.js" in page and "<script>" not in page
    dashboard = client.get("/clerk").get_data(as_text=True)
    assert 'id="queue-kyrgyz"' in dashboard and "/clerk/kyrgyz" in dashboard
    report = client.get("/clerk/languages").get_data(as_text=True)
    assert re.search(r'<td class="pending">0\.1</td>', report)  # 7.5 s still to transcribe, in minutes
    public = client.get(f"/s/{app.config['ids']['sitting']}").get_data(as_text=True)
    assert "not transcribed yet" in public or "расшифрована" in public or "жазыла элек" in public

    text = "Бюджеттин долбоору боюнча сөз комитеттин төрагасына берилет"
    resp = client.patch(f"/api/v1/segments/{waiting}", json={"text": text, "version": 1}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    row = next(r for r in segments(app) if r.id == waiting)
    assert (row.text, row.language, row.needs_transcription) == (text, "ky", False)
    assert len(row.words) == len(text.split())
    assert row.words[0]["start"] == 30.0 and row.words[-1]["end"] == 37.5  # spread over the passage
    assert all(a["end"] <= b["start"] + 1e-9 for a, b in zip(row.words, row.words[1:], strict=False))
    assert f'id="kq-seg-{waiting}"' not in client.get("/clerk/kyrgyz").get_data(as_text=True)


def test_clerk_edit_relabels_the_language_from_the_text(app):  # noqa: F811
    client, headers = logged_in(app, "clara")
    row = segments(app)[0]
    resp = client.patch(f"/api/v1/segments/{row.id}", headers=headers,
                        json={"text": "The committee approved the report today.", "version": row.version})
    assert resp.status_code == 200
    assert next(r for r in segments(app) if r.id == row.id).language == "en"


def test_queue_needs_a_clerk(app):  # noqa: F811
    assert app.test_client().get("/clerk/kyrgyz").status_code in (302, 401, 403)


def test_exports_carry_the_language_and_leave_waiting_passages_out():
    st = Stenogram([
        Segment(0.0, 2.0, "Жыйын ачык деп жарыяланат.", [Word("Жыйын", 0.0, 0.5)], id=1, language="ky"),
        Segment(2.0, 9.0, "", id=2, language="ky", needs_transcription=True),
        Segment(9.0, 11.0, "Спасибо.", id=3, language="ru"),
    ], sitting_id=1, title="T", committee="budget", date="2026-03-01")
    vtt = to_webvtt(st)
    check_webvtt(vtt)
    assert "<lang ky>Жыйын ачык деп жарыяланат.</lang>" in vtt and vtt.count("-->") == 2
    assert to_srt(st).count("-->") == 2
    assert '"needs_transcription": true' in to_json(st)
    ns = {"a": "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"}
    paragraphs = ET.fromstring(to_akoma_ntoso(st).encode()).findall(".//a:p", ns)
    langs = [p.get("{http://www.w3.org/XML/1998/namespace}lang") for p in paragraphs if p.text]
    assert langs == ["ky", "ru"]


def test_srt_names_its_language_and_marks_the_other_languages_lines():
    """SRT has no language attribute: the file's language is the one most speech is in, and a line
    in another language starts with a ``[ky]``-style mark (players show it as written)."""
    st = Stenogram([
        Segment(0.0, 6.0, "Заседание открыто.", id=1, language="ru", speaker="Председатель"),
        Segment(6.0, 8.0, "Жыйын ачык деп жарыяланат.", id=2, language="ky", speaker="Депутат"),
        Segment(8.0, 9.0, "", id=3, language="ky", needs_transcription=True),
        Segment(9.0, 12.0, "Спасибо.", id=4, language="ru"),
        Segment(12.0, 13.0, "Без метки.", id=5),
    ], sitting_id=1, language="ky")
    assert st.main_language == "ru"  # 9 s of Russian against 2 s of written Kyrgyz; the waiting passage is not speech
    text = to_srt(st)
    subs = check_srt(text)
    assert [s.content for s in subs] == ["Председатель: Заседание открыто.", "[ky] Депутат: Жыйын ачык деп жарыяланат.",
                                         "Спасибо.", "Без метки."]
    assert Stenogram([Segment(0.0, 1.0, "Текст.")], language="ky").main_language == "ky"  # no labels: the sitting's
    kyrgyz = Stenogram([Segment(0.0, 4.0, "Жыйын ачык.", language="ky"), Segment(4.0, 5.0, "Да.", language="ru")])
    assert [s.content for s in check_srt(to_srt(kyrgyz))] == ["Жыйын ачык.", "[ru] Да."]


def test_srt_download_carries_the_language_in_its_header_and_filename(app, waiting):  # noqa: F811
    sid = app.config["ids"]["sitting"]
    resp = app.test_client().get(f"/s/{sid}/export.srt")
    assert resp.status_code == 200 and resp.headers["Content-Language"] == "ru"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="sitting-{sid}.ru.srt"'
    assert "[" not in check_srt(resp.get_data(as_text=True))[0].content
    json_resp = app.test_client().get(f"/s/{sid}/export.json")
    assert json_resp.headers["Content-Disposition"] == f'attachment; filename="sitting-{sid}.json"'


def test_api_transcript_flags_waiting_passages(app, waiting):  # noqa: F811
    data = app.test_client().get(f"/api/v1/sittings/{app.config['ids']['sitting']}/transcript").get_json()
    flagged = [seg for seg in data["segments"] if seg["needs_transcription"]]
    assert [seg["id"] for seg in flagged] == [waiting] and flagged[0]["text"] == ""
    rt = app.extensions["sanarip"]
    with rt.db.session(readonly=True) as s:
        assert s.scalar(select(TranscriptSegment.language).where(TranscriptSegment.id == waiting)) == "ky"
