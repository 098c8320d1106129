"""The editor's speaker keys in a real browser (Chromium) against a real `sanarip serve`: a turn's
proposal is shown with its score, Alt+A accepts it, the score control with Alt+Shift+A accepts
every proposal above it, Alt+T + Alt+S gives a whole turn one speaker and Alt+R relabels a
voice cluster — each checked on the server (the segments' ``speaker_id``)."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanarip.accounts import add_user
from sanarip.catalog import add_committee
from sanarip.config import load_settings
from sanarip.models import Person, Sitting, TranscriptSegment
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus
from tests.services import end_process, free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse battery"
# (label, proposed person index or None, score) per line: three turns with proposals, one without
LINES = [("S1", 0, 0.91), ("S1", 0, 0.91), ("S2", 1, 0.62), ("S2", 1, 0.62), ("S3", 2, 0.85), ("S3", 2, 0.85),
         ("S4", None, 0.0), ("S4", None, 0.0), ("S1", 0, 0.91)]
NAMES = ["Айгуль Асанова", "Бакыт Осмонов", "Нурлан Айтматов", "Гулнара Токтогулова"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("speakersite")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_SECRET_KEY="speakers-browser-test")
    rt = Runtime(load_settings(env))
    rt.db.upgrade()
    with rt.db.session() as s:
        committee = add_committee(s, "budget", "Budget committee")
        people = [Person(name=n) for n in NAMES]
        s.add_all(people)
        start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
        sitting = Sitting(committee_id=committee.id, title="Speakers", status=SittingStatus.TRANSCRIBED,
                          started_at=start, ended_at=start + timedelta(minutes=2), duration=60.0)
        s.add(sitting)
        s.flush()
        rows = []
        for i, (label, who, score) in enumerate(LINES):
            proposal = None if who is None else {"person_id": people[who].id, "name": people[who].name,
                                                 "score": score, "source": "voice"}
            rows.append(TranscriptSegment(sitting_id=sitting.id, start=i * 5.0, end=i * 5.0 + 4.5,
                                          text=f"Line number {i} of the sitting.", words=[], language="en",
                                          source="final", speaker_label=label, speaker_proposal=proposal))
        s.add_all(rows)
        s.flush()
        add_user(s, "clara", PASSWORD, "clerk")
        ids = {"sitting": sitting.id, "rows": [r.id for r in rows], "people": [p.id for p in people]}
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc=server)
    yield {"url": f"http://127.0.0.1:{port}", "rt": rt, **ids}
    end_process(server)
    rt.close()


def speakers(site) -> list[int | None]:
    """The confirmed speaker of every line, read from the database the server writes."""
    with site["rt"].db.session(readonly=True) as s:
        return [s.get(TranscriptSegment, i).speaker_id for i in site["rows"]]


def open_editor(page, site) -> None:
    page.goto(f"{site['url']}/login")
    page.fill("#username", "clara")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{site['url']}/s/{site['sitting']}/edit")
    page.wait_for_selector("#rows .seg-row.turn-start")  # editor-speakers.js has run


def wait_status(page, text: str) -> None:
    try:
        page.wait_for_function(f"() => document.getElementById('editor-status').textContent.includes({text!r})",
                               timeout=15_000)
    except Exception as exc:
        raise AssertionError(f"status is {page.locator('#editor-status').inner_text()!r}, not {text!r}") from exc
    page.evaluate("document.getElementById('editor-status').textContent = ''")  # the next wait needs a new one


def test_one_key_accepts_the_turns_proposal_and_the_score_control_accepts_the_rest(site, page):
    rows, people = site["rows"], site["people"]
    open_editor(page, site)
    chip = page.locator(f"#row-{rows[0]} .proposal")
    assert "Айгуль Асанова" in chip.inner_text() and "0.91" in chip.inner_text()
    assert page.locator(f"#row-{rows[6]} .proposal").count() == 0  # no proposal, nothing shown
    page.click(f"#text-{rows[1]}")
    page.keyboard.press("Alt+A")
    wait_status(page, "2 lines attributed")
    after = speakers(site)
    assert after[0] == after[1] == people[0]  # the cursor's whole turn, nothing else
    assert after[2:] == [None] * 7
    assert "accepted" in (chip.get_attribute("class") or "")
    # The page took the new versions: typing in an accepted line and saving it is no conflict.
    page.click(f"#text-{rows[0]}")
    page.keyboard.press("End")
    page.keyboard.type(" Yes.")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('#row-{rows[0]} .row-status').textContent.includes('Saved')")
    # Accept every proposal scoring at least 0.8: S3's lines and the last S1 line, not S2's (0.62).
    page.fill("#accept-score", "0.8")
    page.click(f"#text-{rows[7]}")
    page.keyboard.press("Alt+Shift+A")
    wait_status(page, "3 lines attributed")
    after = speakers(site)
    assert after[4] == after[5] == people[2] and after[8] == people[0]
    assert after[2] is None and after[3] is None and after[6] is None and after[7] is None
    assert page.locator(f"#row-{rows[4]} .speaker-name").inner_text() == "Нурлан Айтматов"
    # A bad score is refused in the page, nothing sent.
    page.fill("#accept-score", "7")
    page.click("#accept-above")
    wait_status(page, "Enter a score from 0 to 1.")


def test_a_whole_turn_gets_one_speaker_and_a_cluster_is_relabelled(site, page):
    rows, people = site["rows"], site["people"]
    open_editor(page, site)
    page.click(f"#text-{rows[7]}")
    page.keyboard.press("Alt+T")  # S4's turn: lines 6 and 7
    assert page.locator(".seg-row.selected").count() == 2
    page.keyboard.press("Alt+S")
    page.keyboard.type("гулн")
    page.keyboard.press("Enter")
    wait_status(page, "2 lines attributed")
    after = speakers(site)
    assert after[6] == after[7] == people[3]
    # "S2 is Бакыт Осмонов" in one action: every line of the cluster.
    page.click(f"#text-{rows[3]}")
    page.keyboard.press("Alt+R")
    page.keyboard.type("бак")
    page.keyboard.press("Enter")
    wait_status(page, "2 lines attributed")
    after = speakers(site)
    assert after[2] == after[3] == people[1]
    # The help overlay lists the new keys with their descriptions.
    page.keyboard.press("F1")
    help_text = page.locator("#keymap-help").inner_text()
    assert "Alt+A" in help_text and "Alt+Shift+A" in help_text and "Alt+R" in help_text
    assert "accept every proposal scoring at least" in help_text
