"""A real browser (Debian's Chromium through Playwright) against a real `sanarip serve`."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, run_cli
from tests.services import end_process, free_port, wait_for_port
from tests.streams import make_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(tmp_path_factory, testdata):
    """A data dir with one imported, transcribed sitting, served by `sanarip serve`."""
    tmp = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_MODEL="tiny.en", SANARIP_SECRET_KEY="browser-test")
    run_cli("committee", "add", "budget", "--name", "Budget committee", env=env)
    clip = make_clip(tmp / "sitting.mp4", 30, testdata / "en/mfa_acoustic_corpus_spontaneous.wav")
    sitting = int(run_cli("import", str(clip), "--committee", "budget", "--title", "Spontaneous speech",
                          env=env, timeout=300).stdout.split()[0])
    run_cli("user", "add", "clara", "--role", "clerk", env=env, input=PASSWORD + "\n")
    person = int(run_cli("person", "add", "Айгуль Асанова", "--faction", "Ата-Журт", env=env).stdout.split()[0])
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc=server)
    yield {"url": f"http://127.0.0.1:{port}", "sitting": sitting, "env": env, "person": person}
    end_process(server)


def segments(site) -> list[dict]:
    import urllib.request

    with urllib.request.urlopen(f"{site['url']}/api/v1/sittings/{site['sitting']}/transcript") as resp:
        return json.loads(resp.read())["segments"]


def wait_time(page, target: float, timeout: float = 20.0) -> float:
    deadline = time.monotonic() + timeout
    t = -1.0
    while time.monotonic() < deadline:
        t = page.evaluate("document.getElementById('player').currentTime")
        ready = page.evaluate("document.getElementById('player').readyState")
        if abs(t - target) <= 0.5 and ready >= 1:
            return t
        time.sleep(0.2)
    return t


def test_click_a_line_seeks_the_video(site, page):
    segs = segments(site)
    assert len(segs) >= 3
    page.goto(f"{site['url']}/s/{site['sitting']}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=20000)
    target = segs[2]
    page.click(f"#seg-{target['id']} a.ts")
    assert abs(wait_time(page, target["start"]) - target["start"]) <= 0.5
    assert "current" in page.get_attribute(f"#seg-{target['id']}", "class")
    # A click on a word seeks to that word: find the last word of another line on screen.
    seg = next(s for s in segs[3:] if len(s["words"]) >= 3)
    words = [part for w in seg["words"] for part in w["word"].split()]
    starts = [w["start"] for w in seg["words"] for _ in w["word"].split()]
    box = page.evaluate("""id => {
        const tx = document.querySelector(`#seg-${id} .tx`);
        tx.scrollIntoView({block: "center"});
        const node = tx.firstChild, text = node.textContent, at = text.lastIndexOf(" ") + 1;
        const range = document.createRange();
        range.setStart(node, at); range.setEnd(node, text.length);
        const r = range.getBoundingClientRect();
        return {x: r.left + r.width / 2, y: r.top + r.height / 2, word: text.slice(at)};
    }""", seg["id"])
    assert box["word"] == words[-1]
    page.mouse.click(box["x"], box["y"])
    assert abs(wait_time(page, starts[-1]) - starts[-1]) <= 0.5


def test_search_hit_opens_the_player_at_its_second(site, page):
    segs = segments(site)
    word = next(w for w in re.findall(r"\w{5,}", segs[-1]["text"]))
    page.goto(f"{site['url']}/search?q={word}")
    link = page.locator("a.hit-link").first
    href = link.get_attribute("href")
    second = float(href.split("t=")[1])
    link.click()
    page.wait_for_url(re.compile(r"/s/\d+\?t="))
    assert abs(wait_time(page, second) - second) <= 0.5


def test_clerk_edits_a_line_and_finds_it_in_search(site, page):
    segs = segments(site)
    target = segs[1]
    page.goto(f"{site['url']}/login")
    page.fill("#username", "clara")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"{site['url']}/s/{site['sitting']}/edit")
    box = page.locator(f"#text-{target['id']}")
    box.fill(target["text"] + " Zanzibar")
    page.locator(f"#row-{target['id']} button.save").click()
    page.wait_for_function(
        f"() => document.querySelector('#row-{target['id']} .row-status').textContent.includes('Saved')")
    page.goto(f"{site['url']}/search?q=zanzibar")
    link = page.locator("a.hit-link").first
    assert f"t={target['start']:.1f}" in link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(r"/s/\d+\?t="))
    assert abs(wait_time(page, target["start"]) - target["start"]) <= 0.5


def _axe(page) -> list[dict]:
    page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("path", ["/", "/s/{sitting}", "/search?q=uh", "/live/{sitting}", "/c/budget", "/p/{person}",
                                  "/login"])
def test_no_serious_accessibility_violations(site, page, path):
    page.goto(site["url"] + path.format(sitting=site["sitting"], person=site["person"]))
    bad = _axe(page)
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def test_phone_viewport(site, browser):
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="ru-RU")
    pg = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in (("home", "/"), ("sitting", f"/s/{site['sitting']}"), ("search", "/search?q=uh"),
                       ("live", f"/live/{site['sitting']}")):
        pg.goto(site["url"] + path)
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 375 + 1, f"{name} scrolls sideways ({width}px)"
        pg.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    context.close()


def test_keyboard_only_player_and_transcript(site, page):
    segs = segments(site)
    page.goto(f"{site['url']}/s/{site['sitting']}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=20000)
    page.focus(f"#seg-{segs[0]['id']}")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert abs(wait_time(page, segs[2]["start"]) - segs[2]["start"]) <= 0.5


def test_language_switch_changes_the_ui(site, page):
    page.goto(site["url"] + "/search")
    assert page.locator("h1").inner_text() == "Search the stenograms"
    page.click("nav.lang a[hreflang=ru]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Поиск по стенограммам"
    assert page.url.endswith("/search")
    page.goto(site["url"] + "/")
    assert page.locator("html").get_attribute("lang") == "ru"  # remembered in a cookie
    page.click("nav.lang a[hreflang=ky]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Комитеттердин отурумдары"


CSP_LISTENER = """document.addEventListener("securitypolicyviolation",
    (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`));"""


def test_video_and_editor_work_under_the_content_security_policy(site, browser):
    """Plays the video, saves an edit and reverts it with the policy on: not one violation."""
    context = browser.new_context(locale="en-US")
    context.add_init_script(CSP_LISTENER)  # init scripts are the browser's, not the page's
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda msg: console.append(msg.text))
    resp = pg.goto(f"{site['url']}/s/{site['sitting']}")
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    pg.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=20000)
    pg.evaluate("document.getElementById('player').muted = true; document.getElementById('player').play()")
    pg.wait_for_function("() => document.getElementById('player').currentTime > 0.5", timeout=20000)
    pg.goto(f"{site['url']}/login")
    pg.fill("#username", "clara")
    pg.fill("#password", PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url(re.compile(r"/$"))
    target = segments(site)[0]
    pg.goto(f"{site['url']}/s/{site['sitting']}/edit")
    pg.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=20000)
    pg.locator(f"#text-{target['id']}").fill(target["text"] + " Policy")
    pg.locator(f"#row-{target['id']} button.save").click()
    pg.wait_for_function(
        f"() => document.querySelector('#row-{target['id']} .row-status').textContent.includes('Saved')")
    pg.goto(f"{site['url']}/s/{site['sitting']}/history")
    with pg.expect_navigation():
        pg.locator("button.revert").first.click()  # history.js reloads the page after a revert
    assert "Policy" not in segments(site)[0]["text"]
    context.close()
    violations = [m for m in console if "Content Security Policy" in m or "CSP violation" in m]
    assert not violations, violations


PAGES = (("home", "/"), ("sitting", "/s/{sitting}"), ("live", "/live/{sitting}"), ("search", "/search?q=words"),
         ("person", "/p/{person}"), ("committee", "/c/budget"), ("login", "/login"))
CLERK_PAGES = (("dashboard", "/clerk"), ("editor", "/s/{sitting}/edit"))
UI_TEXT = {"ky": "Комитеттердин отурумдары", "ru": "Заседания комитетов", "en": "Committee sittings"}


def _log_in(pg, site) -> None:
    pg.goto(f"{site['url']}/login")
    pg.fill("#username", "clara")
    pg.fill("#password", PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url(re.compile(r"/$"))


@pytest.mark.parametrize("lang", ["ky", "ru", "en"])
def test_screenshots_of_every_page(site, browser, lang):
    """Every page in each UI language at a phone's and a desktop's width, saved for a person to look at
    (test-artifacts/pages/<lang>-<width>-<page>.png); each is in its language and never scrolls sideways."""
    out = ARTIFACTS / "pages"
    out.mkdir(parents=True, exist_ok=True)
    for width, height in ((375, 812), (1280, 800)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale=lang)
        pg = context.new_page()
        for clerk in (False, True):
            if clerk:
                _log_in(pg, site)
            for name, path in CLERK_PAGES if clerk else PAGES:
                pg.goto(site["url"] + path.format(sitting=site["sitting"], person=site["person"]))
                pg.wait_for_load_state("load")
                pg.wait_for_timeout(300)  # fonts, hls.js and the first frame settle: the picture, not a check
                assert pg.locator("html").get_attribute("lang") == lang, name
                pg.screenshot(path=str(out / f"{lang}-{width}-{name}.png"), full_page=True)
                scroll = pg.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width + 1, f"{lang} {name} at {width}px scrolls sideways ({scroll}px)"
        pg.goto(site["url"] + "/")
        assert UI_TEXT[lang] in pg.locator("h1").inner_text()
        context.close()
