"""The architecture as tests: one command line, one owner per status and job kind."""

import ast
import subprocess
import sys
from pathlib import Path

from sanarip.pipeline import JobKind
from sanarip.sittings import SittingStatus

ROOT = Path(__file__).resolve().parent.parent
OWNERS = {"sanarip/sittings.py", "sanarip/pipeline.py"}
# Strings that are spelled like a status or a kind but name something else.
OTHER_MEANINGS = {
    ("sanarip/models.py", "live"),  # SegmentSource.LIVE: who wrote a segment
    ("web/live.py", "live"),  # the blueprint's name
    ("cli/sittings.py", "import"),  # the command's name
    ("cli/record.py", "import"),  # the commands' names (popolo, agenda, votes import)
    ("search/elastic.py", "index"),  # Elasticsearch's bulk and API fields
    ("sanarip/models.py", "scheduled"),  # the column default (the models cannot import the lifecycle)
}


def _commands(*argv: str) -> list[str]:
    out = subprocess.run([*argv, "--help"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    listing = out.split("Commands:", 1)[1]
    return [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.split()]


def test_python_m_cli_and_sanarip_list_the_same_commands():
    sanarip = _commands(str(Path(sys.executable).parent / "sanarip"))
    assert sanarip == _commands(sys.executable, "-m", "cli")
    assert {"import", "record", "transcribe", "search", "serve", "worker", "user", "person"} <= set(sanarip)


def _string_constants(tree: ast.AST):
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


def test_no_status_or_job_kind_literal_outside_its_owner():
    words = {str(v) for v in SittingStatus} | {str(v) for v in JobKind}
    found = []
    for path in sorted(ROOT.glob("**/*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in {"tests", ".venv", "node_modules", "build"} or rel in OWNERS:
            continue
        for node in _string_constants(ast.parse(path.read_text(encoding="utf-8"))):
            if node.value in words and (rel, node.value) not in OTHER_MEANINGS:
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "use SittingStatus / JobKind:\n" + "\n".join(found)
