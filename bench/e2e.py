"""End-to-end figures, one run of the README's main job (scripts/demo.py) with `base` on this machine:

* stream start → first live transcript line visible in the live page (a real browser): goal <= 10 s.
  The first line is the partial line (words heard, not yet committed, shown greyed); the time to
  the first committed line is printed beside it;
* stream end → final transcript searchable, as a fraction of the sitting's duration: goal <= 0.3.

The sitting is real speech from ../shared/testdata (Russian and English passages) when it is
there, else the demo's synthesized speech (eSpeak NG, which Whisper transcribes slowly and
badly, so the figures then say more about the synthesizer than the pipeline).

    python bench/e2e.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import concat_audio  # noqa: E402
from tests.services import free_port  # noqa: E402

DATA = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata"))


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
        env.update(SANARIP_DATA_DIR=f"{tmp}/data", PYTHONUNBUFFERED="1")
        cmd = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--port", str(free_port()), "--exit-when-done"]
        if (DATA / "README.md").exists():
            speech = concat_audio([DATA / "ru/long_voxforge_1-20121125-pgp_7utts.wav", DATA / "en/jfk.flac",
                                   DATA / "ru/voxforge_ru_0030.wav", DATA / "en/mfa_acoustic_corpus_spontaneous.wav"],
                                  Path(tmp) / "speech.wav")
            cmd += ["--speech", str(speech)]
        demo = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        events: dict[str, float] = {}
        page_url = None
        for line in demo.stdout:
            if m := re.search(r"stream started at ([\d.]+)", line):
                events["start"] = float(m.group(1))
            if m := re.search(r"open (http://\S+)/ +\(live page: (\S+)\)", line):
                page_url = m.group(2)
                break
        seen = threading.Event()

        def watch() -> None:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                page = browser.new_page()
                page.goto(page_url)
                page.wait_for_selector("#transcript li", timeout=120_000)
                events["first_line"] = time.time()
                page.wait_for_selector("#transcript li:not(.partial)", timeout=120_000)
                events["first_committed"] = time.time()
                seen.set()
                browser.close()

        watcher = threading.Thread(target=watch)
        watcher.start()
        for line in demo.stdout:
            if m := re.search(r"stream ended at ([\d.]+)", line):
                events["end"] = float(m.group(1))
            if m := re.search(r"searchable at ([\d.]+)", line):
                events["searchable"] = float(m.group(1))
        demo.wait()
        watcher.join(timeout=130)
    duration = events["end"] - events["start"]
    print(f"sitting of {duration:.0f} s ({'real speech' if '--speech' in cmd else 'synthesized speech'})")
    print(f"stream start -> first live line visible: {events['first_line'] - events['start']:.1f} s (goal <= 10 s); "
          f"first committed line {events['first_committed'] - events['start']:.1f} s")
    after = events["searchable"] - events["end"]
    print(f"stream end -> final transcript searchable: {after:.1f} s = {after / duration:.2f} of the duration "
          "(goal <= 0.3)")


if __name__ == "__main__":
    main()
