"""Editor figures in a real browser (Debian's Chromium through Playwright): the keystrokes,
pointer actions and seconds a clerk needs to

* fix one word in a line and save it, and
* set the speaker of ten consecutive lines (and save them),

in this tree's editor and, in the same run, in the editor of a baseline git ref (default
``main``), each served by its own `sanarip serve` over the same seeded sitting. The script
drives each editor the quickest way its page offers (a keystroke is one key press, a chord
such as Alt+S counts once, a typed character once) and checks through the API that the edit
landed. It prints both figures and their ratio (this tree / baseline).

    python bench/editor.py [--baseline main] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sanarip.accounts import add_user  # noqa: E402
from sanarip.catalog import add_committee  # noqa: E402
from sanarip.config import load_settings  # noqa: E402
from sanarip.models import Person, Sitting, TranscriptSegment, utcnow  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from sanarip.sittings import SittingStatus  # noqa: E402
from tests.seed import words_for  # noqa: E402
from tests.services import free_port, wait_for_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
SPEAKER = "Айгуль Асанова"
LINES = 40


@dataclass
class Effort:
    keys: int = 0
    pointer: int = 0
    seconds: float = 0.0


def seed(env: dict[str, str]) -> tuple[int, list[int]]:
    """One transcribed sitting of LINES lines, three persons and a clerk."""
    rt = Runtime(load_settings(env))
    rt.db.upgrade()
    with rt.db.session() as s:
        c = add_committee(s, "budget", "Budget committee")
        s.add_all([Person(name=SPEAKER), Person(name="Бакыт Осмонов"), Person(name="Нурлан Айтматов")])
        st = Sitting(committee_id=c.id, title="Editor bench", status=SittingStatus.TRANSCRIBED, started_at=utcnow(),
                     duration=LINES * 5.0)
        s.add(st)
        s.flush()
        rows = []
        for i in range(LINES):
            text = f"Строка номер {i} о бюджете комитета на следующий год."
            row = TranscriptSegment(sitting_id=st.id, start=i * 5.0, end=i * 5.0 + 4.5, text=text,
                                    words=words_for(text, i * 5.0, i * 5.0 + 4.5), language="ru", source="final")
            s.add(row)
            rows.append(row)
        s.flush()
        ids = st.id, [r.id for r in rows]
        add_user(s, "clara", PASSWORD, "editor")
    rt.close()
    return ids


def transcript(url: str, sitting: int) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v1/sittings/{sitting}/transcript") as resp:
        return json.loads(resp.read())["segments"]


class Driver:
    """Counts what the clerk does: every key press (a chord once) and every pointer action."""

    def __init__(self, page) -> None:
        self.page = page
        self.effort = Effort()

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.effort.keys += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.effort.keys += len(text)

    def click(self, selector: str) -> None:
        self.page.click(selector)
        self.effort.pointer += 1


def keyboard_first(page) -> bool:
    """True for the keyboard-first editor (inline text, one keymap), False for the form editor."""
    return page.locator("[contenteditable].text").count() > 0


def fix_word(page, row: int) -> Effort:
    """Replace the line's second word ("номер") by "№": select it from the keyboard, type, save."""
    d = Driver(page)
    t0 = time.perf_counter()
    d.click(f"#text-{row}")
    d.press("Control+Home")
    d.press("Control+ArrowRight", 1)
    if keyboard_first(page):
        d.press("Control+Shift+ArrowRight")
        d.type(" №")
        d.press("Enter")
    else:
        d.press("Control+Shift+ArrowRight")
        d.type(" №")
        d.press("Control+Enter")
    page.wait_for_function(f"() => document.querySelector('#row-{row} .row-status').textContent.length > 0")
    d.effort.seconds = time.perf_counter() - t0
    return d.effort


def set_speakers(page, rows: list[int]) -> Effort:
    """Give ten consecutive lines the same speaker and save them."""
    d = Driver(page)
    t0 = time.perf_counter()
    if keyboard_first(page):
        d.click(f"#text-{rows[0]}")
        d.press("Alt+Shift+ArrowDown", len(rows) - 1)
        d.press("Alt+S")
        d.type(SPEAKER[:3])
        d.press("Enter")
    else:
        for row in rows:
            d.click(f"#row-{row} .speaker")
            d.type(SPEAKER)  # the datalist needs the exact name
            d.press("Control+Enter")
    for row in rows:
        page.wait_for_function(f"() => document.querySelector('#row-{row} .row-status').textContent.length > 0")
    d.effort.seconds = time.perf_counter() - t0
    return d.effort


def measure(browser, tree: Path, repeat: int) -> tuple[Effort, Effort]:
    """Serve ``tree``'s code over a freshly seeded sitting and run both tasks ``repeat`` times."""
    fixes, speakers = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
            env.update(SANARIP_DATA_DIR=tmp, SANARIP_SECRET_KEY="bench", PYTHONPATH=str(tree))
            sitting, rows = seed(env)
            port = free_port()
            server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], cwd=tree, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for_port(port, proc=server)
                url = f"http://127.0.0.1:{port}"
                context = browser.new_context(locale="en-US")
                page = context.new_page()
                page.goto(f"{url}/login")
                page.fill("#username", "clara")
                page.fill("#password", PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_load_state()
                page.goto(f"{url}/s/{sitting}/edit")
                fixes.append(fix_word(page, rows[3]))
                speakers.append(set_speakers(page, rows[10:20]))
                context.close()
                segs = {s["id"]: s for s in transcript(url, sitting)}
                if "№" not in segs[rows[3]]["text"] or "номер" in segs[rows[3]]["text"]:
                    raise SystemExit(f"{tree}: the word was not fixed: {segs[rows[3]]['text']!r}")
                wrong = [r for r in rows[10:20] if segs[r]["speaker"] != SPEAKER]
                if wrong:
                    raise SystemExit(f"{tree}: lines without the speaker: {wrong}")
            finally:
                server.terminate()
                server.wait(10)
    return median(fixes), median(speakers)


def median(efforts: list[Effort]) -> Effort:
    return Effort(efforts[0].keys, efforts[0].pointer, statistics.median(e.seconds for e in efforts))


def baseline_tree(ref: str, into: Path) -> Path:
    """The baseline's files (``git archive``), with this checkout's node_modules for hls.js."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    if (ROOT / "node_modules").exists():
        (into / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    return into


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="main", help="git ref of the editor to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        base = measure(browser, baseline_tree(args.baseline, Path(tmp)), args.repeat)
        ours = measure(browser, ROOT, args.repeat)
        browser.close()
    for name, b, o in (("fix one word and save", base[0], ours[0]),
                       ("set the speaker of 10 lines", base[1], ours[1])):
        print(f"{name}: baseline ({args.baseline}) {b.keys} keys + {b.pointer} pointer, {b.seconds:.2f} s; "
              f"this tree {o.keys} keys + {o.pointer} pointer, {o.seconds:.2f} s; "
              f"ratio keys {o.keys / b.keys:.2f}, actions {(o.keys + o.pointer) / (b.keys + b.pointer):.2f}, "
              f"seconds {o.seconds / b.seconds:.2f}")


if __name__ == "__main__":
    main()
