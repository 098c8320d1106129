"""Figures of the site under attack, from one run against `sanarip serve` on 127.0.0.1.

Each section is a function that takes the served site and returns its figures as (name, value)
rows; add one to SECTIONS to add figures (part B of issue 18 adds the throttling and search-cost
sections here). Part A's section: schemathesis operations / cases / failures, anonymously and with
an editor's token (goal: 0 failures).

    python bench/attack.py [--examples 25] [--seed 20260318] [--only schemathesis]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzzing import Site, schemathesis, served_site  # noqa: E402

Rows = list[tuple[str, object]]


def schemathesis_section(site: Site, args: argparse.Namespace, tmp: Path) -> Rows:
    rows: Rows = []
    for who, token in (("anonymous", None), ("editor token", site.token)):
        result = schemathesis(site, tmp / f"{who.replace(' ', '-')}.ndjson", token=token, seed=args.seed,
                              examples=args.examples, timeout=args.cap)
        rows += [(f"schemathesis {who}: operations", result.operations),
                 (f"schemathesis {who}: cases", result.cases),
                 (f"schemathesis {who}: failures (goal 0)", len(result.failures))]
        for failure in result.failures:
            print(failure, file=sys.stderr)
    return rows


SECTIONS: dict[str, Callable[[Site, argparse.Namespace, Path], Rows]] = {
    "schemathesis": schemathesis_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=25, help="schemathesis examples per operation")
    parser.add_argument("--seed", type=int, default=20260318)
    parser.add_argument("--cap", type=float, default=600, help="seconds one schemathesis run may take")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanarip-attack-") as tmp_name:
        tmp = Path(tmp_name)
        with served_site(tmp) as site:
            for name in args.only or list(SECTIONS):
                for label, value in SECTIONS[name](site, args, tmp):
                    print(f"{label}: {value}", flush=True)


if __name__ == "__main__":
    main()
