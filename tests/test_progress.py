"""`sanarip import`'s progress: one clean bar, log lines above it (not through it), never over 100 %."""

import logging
import re

from cli.common import progress_bar


def test_progress_bar_is_clean_and_bounded(capsys):
    logging.basicConfig(level=logging.INFO)
    log = logging.getLogger("sanarip.test")
    with progress_bar("import x.mp4") as on_progress:
        on_progress({"total": 4, "done": 1})
        log.warning("source probed")
        on_progress({"total": 4, "done": 7})  # more than the first estimate
        on_progress({"spans": [0, 1], "done": 2})
    err = capsys.readouterr().err
    percents = [int(p) for p in re.findall(r"(\d+)%", err)]
    assert percents and max(percents) <= 100, err
    visible = [line.rsplit("\r", 1)[-1].strip() for line in err.split("\n")]  # what a terminal shows per line
    assert any(v.endswith("source probed") and "%" not in v for v in visible), err  # a line of its own, bar cleared
