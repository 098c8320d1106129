"""The clerks' side in a real browser (Debian's Chromium through Playwright) against a real
`sanarip serve`: the way in (login back to the page, Edit/History), the keyboard-first editor
(inline text, clock times from the player, speakers by typing, the keymap's help, the
unsaved-edits warning), and Publish with its confirmation — all with zero CSP violations."""

import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ingest.media import ffmpeg_exe
from sanarip.accounts import add_user
from sanarip.config import load_settings
from sanarip.medialayout import segment_key
from sanarip.models import MediaSegment, Person, Sitting, TranscriptSegment
from sanarip.runtime import Runtime
from tests.conftest import ARTIFACTS
from tests.seed import seed
from tests.services import end_process, free_port, wait_for_port
from tests.test_browser import CSP_LISTENER

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse battery"


def hls_segments(folder: Path) -> list[Path]:
    """Three 10-second MPEG-TS segments of a test picture and tone (real ffmpeg)."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10", "-f", "lavfi",
                    "-i", "sine=frequency=440", "-t", "30", "-c:v", "libx264", "-g", "100", "-keyint_min", "100",
                    "-sc_threshold", "0", "-c:a", "aac", "-f", "segment", "-segment_time", "10",
                    "-segment_format", "mpegts", str(folder / "seg%d.ts")], check=True, timeout=120)
    return [folder / f"seg{i}.ts" for i in range(3)]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """tests/seed.py's sitting with real video, one line flagged uncertain, two more persons, a clerk
    and an editor, served by `sanarip serve`."""
    tmp = tmp_path_factory.mktemp("clerksite")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_SECRET_KEY="clerk-browser-test")
    rt = Runtime(load_settings(env))
    rt.db.upgrade()
    ids = seed(rt)
    with rt.db.session() as s:
        sitting = s.get(Sitting, ids["sitting"])
        for seq, path in enumerate(hls_segments(tmp)):
            key = segment_key(sitting.id, seq)
            rt.storage.put_file(key, path)
            s.add(MediaSegment(sitting_id=sitting.id, seq=seq, media_start=seq * 10.0, duration=10.0,
                               wall_clock_start=sitting.started_at + timedelta(seconds=seq * 10), path=key))
        s.add_all([Person(name="Бакыт Осмонов"), Person(name="Нурлан Айтматов")])
        first = s.scalar(TranscriptSegment.__table__.select().with_only_columns(TranscriptSegment.id)
                         .where(TranscriptSegment.sitting_id == sitting.id).order_by(TranscriptSegment.start))
        s.execute(update(TranscriptSegment).where(TranscriptSegment.id == first + 1).values(unreliable=True))
        add_user(s, "clara", PASSWORD, "clerk")
        add_user(s, "eddie", PASSWORD, "editor")
    rt.close()
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc=server)
    yield {"url": f"http://127.0.0.1:{port}", **ids}
    end_process(server)


def transcript(site) -> list[dict]:
    with urllib.request.urlopen(f"{site['url']}/api/v1/sittings/{site['sitting']}/transcript") as resp:
        return json.loads(resp.read())["segments"]


@pytest.fixture
def console(browser, request):
    """A page whose console is recorded, with CSP violations reported there; none may occur."""
    context = browser.new_context(locale="en-US")
    context.add_init_script(CSP_LISTENER)
    pg = context.new_page()
    messages: list[str] = []
    pg.on("console", lambda msg: messages.append(msg.text))
    yield pg, messages
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"clerk-{request.node.name}.png"), full_page=True)
    context.close()
    violations = [m for m in messages if "Content Security Policy" in m or "CSP violation" in m]
    assert not violations, violations


def log_in(page, site, user: str = "clara") -> None:
    page.goto(f"{site['url']}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def open_editor(page, site, user: str = "clara") -> None:
    log_in(page, site, user)
    page.goto(f"{site['url']}/s/{site['sitting']}/edit")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=20000)


def status_of(page, seg_id: int) -> str:
    return page.locator(f"#row-{seg_id} .row-status").inner_text()


def wait_saved(page, seg_id: int) -> None:
    page.wait_for_function(f"() => document.querySelector('#row-{seg_id} .row-status').textContent.includes('Saved')")


def test_login_from_a_sitting_page_returns_there_with_edit_and_history(site, console):
    page, _ = console
    resp = page.goto(f"{site['url']}/s/{site['sitting']}")
    assert "set-cookie" not in resp.headers and "private" not in resp.headers.get("cache-control", "")
    assert page.locator(".clerk-links").count() == 0
    page.click("header.site nav a[href^='/login']")
    page.fill("#username", "clara")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(rf"/s/{site['sitting']}$"))
    resp = page.reload()
    assert "private" in resp.headers["cache-control"]
    page.click(".clerk-links a.history-link")
    page.wait_for_url(re.compile(rf"/s/{site['sitting']}/history$"))
    page.go_back()
    page.click(".clerk-links a.edit-link")
    page.wait_for_url(re.compile(rf"/s/{site['sitting']}/edit$"))
    page.goto(f"{site['url']}/clerk")
    assert page.locator(f"#queue-review #dash-{site['sitting']}").count() == 1


def test_a_word_is_fixed_from_the_keyboard_and_the_uncertain_flag_goes(site, console):
    page, _ = console
    seg = transcript(site)[1]
    open_editor(page, site)
    assert page.locator(f"#row-{seg['id']} .flag.uncertain").count() == 1
    page.click(f"#text-{seg['id']}")
    page.keyboard.press("Control+Home")
    page.keyboard.press("Control+ArrowRight")  # after the first word
    page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.type(" Депутатtar")
    assert "dirty" in page.get_attribute(f"#row-{seg['id']}", "class")
    page.keyboard.press("Enter")
    wait_saved(page, seg["id"])
    saved = next(s for s in transcript(site) if s["id"] == seg["id"])
    assert saved["text"].split()[1] == "Депутатtar" and "\n" not in saved["text"]
    assert page.locator(f"#row-{seg['id']} .flag.uncertain").count() == 0  # gone without a reload
    page.reload()
    assert page.locator(f"#row-{seg['id']} .flag.uncertain").count() == 0


def test_speakers_are_chosen_by_typing_for_several_lines(site, console):
    page, _ = console
    segs = transcript(site)
    targets = segs[1:4]
    open_editor(page, site)
    page.click(f"#text-{targets[0]['id']}")
    page.keyboard.press("Alt+Shift+ArrowDown")
    page.keyboard.press("Alt+Shift+ArrowDown")
    assert page.locator(".seg-row.selected").count() == 3
    page.keyboard.press("Alt+S")
    page.keyboard.type("бак")  # "Бакыт Осмонов": a name's word starts so
    assert page.locator("#speaker-options [role=option]").all_inner_texts() == ["Бакыт Осмонов"]
    page.keyboard.press("Enter")
    for seg in targets:
        wait_saved(page, seg["id"])
    after = {s["id"]: s for s in transcript(site)}
    assert [after[s["id"]]["speaker"] for s in targets] == ["Бакыт Осмонов"] * 3
    assert after[segs[0]["id"]]["speaker"] == segs[0]["speaker"]  # outside the selection: untouched
    assert page.locator(f"#row-{targets[2]['id']} .speaker-name").inner_text() == "Бакыт Осмонов"


def test_times_are_clock_values_set_from_the_player(site, console):
    page, _ = console
    seg = transcript(site)[3]  # 14.0-20.0 s
    open_editor(page, site)
    assert page.locator(f"#row-{seg['id']} .clock.start").inner_text() == "0:00:14.0"
    page.click(f"#text-{seg['id']}")
    page.evaluate("document.getElementById('player').currentTime = 15.5")
    page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 15.5) < 0.05")
    page.keyboard.press("Alt+BracketLeft")
    assert page.locator(f"#row-{seg['id']} .clock.start").inner_text() == "0:00:15.5"
    page.keyboard.press("Enter")
    wait_saved(page, seg["id"])
    assert abs(next(s for s in transcript(site) if s["id"] == seg["id"])["start"] - 15.5) < 0.05


def test_the_keymap_help_lists_every_key_in_the_page_language(site, browser):
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    open_editor(page, site)
    page.keyboard.press("F1")
    help_box = page.locator("#keymap-help")
    assert help_box.is_visible()
    actions = page.evaluate("window.SanaripKeymap.byAction().length")
    assert page.locator("#keymap-list dt").count() == actions >= 15
    assert "Alt+S" in help_box.inner_text() and "выбрать выступающего, набрав имя" in help_box.inner_text()
    assert not any(d.startswith("key.") for d in page.locator("#keymap-list dd").all_inner_texts())
    context.close()


def test_unsaved_edits_warn_before_leaving(site, console):
    page, _ = console
    seg = transcript(site)[0]
    open_editor(page, site)
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click(f"#text-{seg['id']}")
    page.keyboard.press("End")
    page.keyboard.type(" несохранено")
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]


def test_publish_asks_shows_the_changes_and_updates_the_page(site, console):
    page, _ = console
    seg = transcript(site)[0]
    open_editor(page, site, "eddie")
    page.evaluate("window.notReloaded = true")
    page.click(f"#text-{seg['id']}")
    page.keyboard.press("End")
    page.keyboard.type(" Опубликовано")
    page.keyboard.press("Enter")
    wait_saved(page, seg["id"])
    page.click("#publish")
    dialog = page.locator("#publish-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator(".changes li").count() >= 1
    page.click("#publish-dialog button[value=cancel]")
    assert not dialog.is_visible()
    assert page.locator("#sitting-status").inner_text() != "published"
    page.click("#publish")
    dialog.wait_for(state="visible")
    page.click("#publish-confirm")
    page.wait_for_function("() => document.getElementById('sitting-status').textContent === 'published'")
    assert "published version" in page.locator("#publication-info").inner_text()
    assert page.evaluate("window.notReloaded") is True  # the new state came without a reload
    # The next publication shows only what changed since this one.
    page.click(f"#text-{seg['id']}")
    page.keyboard.press("End")
    page.keyboard.type(" снова")
    page.keyboard.press("Enter")
    wait_saved(page, seg["id"])
    page.click("#publish")
    dialog.wait_for(state="visible")
    assert dialog.locator("#change-count").inner_text() == "1"
    assert "снова" in dialog.locator(".changes ins").inner_text()
    page.click("#publish-dialog button[value=cancel]")


def seek(page, seconds: float) -> None:
    page.evaluate(f"document.getElementById('player').currentTime = {seconds}")
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {seconds}) < 0.05")


def agenda_of(site) -> list[tuple]:
    with urllib.request.urlopen(f"{site['url']}/api/v1/sittings/{site['sitting']}/agenda") as resp:
        return [(i["identifier"], i["title"], i["start"], i["end"]) for i in json.loads(resp.read())["items"]]


def search(site, **args) -> dict:
    query = urllib.parse.urlencode(args)
    with urllib.request.urlopen(f"{site['url']}/api/v1/search?{query}") as resp:
        return json.loads(resp.read())


def test_a_clerk_edits_the_agenda_with_times_from_the_player(site, page):
    """Add items at the player's time (Alt+N), end one (Alt+Shift+]), retime (Alt+Shift+[), rename,
    delete (Alt+Shift+Delete), save; a bad agenda is refused whole; search and history follow."""
    open_editor(page, site)
    page.locator(f"#text-{transcript(site)[0]['id']}").click()  # typing a line: Alt+N still adds an item
    seek(page, 5.0)  # after the click: the player follows the cursor to the line
    page.keyboard.press("Alt+N")
    page.keyboard.type("Bill 7")
    page.keyboard.press("Tab")
    page.keyboard.type("On water")
    seek(page, 12.0)
    page.keyboard.press("Alt+Shift+BracketRight")
    seek(page, 15.0)
    page.click("#agenda-add")
    page.keyboard.type("Bill 8")
    page.keyboard.press("Tab")
    page.keyboard.type("On roads")
    assert page.locator("#agenda-status").inner_text() == "Agenda not saved"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('agenda-status').textContent.includes('Agenda saved')")
    assert agenda_of(site) == [("Bill 7", "On water", 5.0, 12.0), ("Bill 8", "On roads", 15.0, 30.0)]

    seek(page, 13.0)  # retime Bill 8, rename Bill 7, add a third item and delete it again
    page.locator(".agenda-row").nth(1).locator(".agenda-title").click()
    page.keyboard.press("Alt+Shift+BracketLeft")
    assert page.locator(".agenda-row").nth(1).locator(".agenda-start").inner_text() == "0:00:13.0"
    page.locator(".agenda-row").nth(0).locator(".agenda-title").fill("On drinking water")
    seek(page, 25.0)
    page.keyboard.press("Alt+N")
    page.keyboard.type("Bill 9")
    assert page.locator(".agenda-row").count() == 3
    page.keyboard.press("Alt+Shift+Delete")
    assert page.locator(".agenda-row").count() == 2
    page.click("#agenda-save")
    page.wait_for_function("() => document.getElementById('agenda-status').textContent.includes('Agenda saved')")
    assert agenda_of(site) == [("Bill 7", "On drinking water", 5.0, 12.0), ("Bill 8", "On roads", 13.0, 30.0)]

    # The sitting was re-indexed: the line at 14 s is within Bill 8 now, and the facet says so.
    found = search(site, q="approved")
    assert [h["agenda_item"]["identifier"] for h in found["items"]] == ["Bill 8"]
    assert found["facets"]["agenda"] == {"Bill 8": 1}
    assert search(site, q="approved", agenda="Bill 7")["total"] == 0

    page.locator(".agenda-row").nth(0).locator(".agenda-title").fill("")  # a bad agenda: nothing stored
    page.click("#agenda-save")
    page.wait_for_function("() => document.getElementById('agenda-status').textContent.includes('required')")
    assert page.locator("#agenda-status").inner_text() == "item 0: 'title' is required"
    assert agenda_of(site)[0][1] == "On drinking water"
    page.keyboard.press("F1")
    assert "new agenda item at the player's time" in page.locator("#keymap-list").inner_text()
    page.keyboard.press("Escape")
    page.locator(".agenda-row").nth(0).locator(".agenda-title").fill("On drinking water")
    page.click("#agenda-save")
    page.wait_for_function("() => document.getElementById('agenda-status').textContent.includes('Agenda saved')")

    page.goto(f"{site['url']}/s/{site['sitting']}/history")
    entries = page.locator("#history li", has_text="agenda")
    assert entries.count() == 2  # the bad save and the unchanged one added none
    assert "On drinking water" in entries.nth(0).inner_text() and entries.nth(0).locator("button.revert").count() == 0
