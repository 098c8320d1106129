"""A served, seeded instance and schemathesis runs against it (tests/test_api_fuzz.py, bench/attack.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sanarip.config import load_settings
from sanarip.runtime import Runtime
from tests.seed import seed
from tests.services import end_process, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
PASSWORD = "fuzzing is not a password"
MEDIA = bytes(range(256)) * 40


@dataclass
class Site:
    url: str
    token: str  # an editor's API token
    env: dict[str, str]


def cli(*args: str, env: dict[str, str], input: str | None = None) -> str:
    exe = Path(sys.executable).parent / "sanarip"
    proc = subprocess.run([str(exe), *args], env=env, input=input, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"sanarip {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@contextmanager
def served_site(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Site]:
    """`sanarip serve` on 127.0.0.1 over tests/seed.py's data, with an editor and an API token."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    # The fuzzer is one client sending thousands of requests: per-address rate limits are off here
    # (their own tests hold them), so every case reaches the route it tests.
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_SECRET_KEY="fuzzing",
               SANARIP_BASE_URL=f"http://127.0.0.1:{port}", SANARIP_API_RATE_LIMIT="0",
               SANARIP_SEARCH_RATE_LIMIT="0", **(extra_env or {}))
    rt = Runtime(load_settings(env))
    rt.db.upgrade()
    seed(rt, MEDIA)
    rt.close()
    cli("user", "add", "eddie", "--role", "editor", env=env, input=PASSWORD + "\n")
    token = cli("token", "create", "eddie", env=env).strip().split()[-1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=server)
        yield Site(f"http://127.0.0.1:{port}", token, env)
    finally:
        end_process(server)


@dataclass
class FuzzResult:
    version: str
    operations: int
    cases: int
    failures: list[str]  # the report's failure blocks; empty when schemathesis found nothing
    output: str


def schemathesis(site: Site, report: Path, token: str | None = None, seed: int = 20260318,
                 examples: int = 25, timeout: float = 240) -> FuzzResult:
    """`st run` with every check against the served document; ``timeout`` caps the whole run."""
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run",
           f"{site.url}/api/v1/openapi.json", "--checks", "all", "--seed", str(seed), "--max-examples", str(examples),
           "--workers", "1", "--generation-database", "none", "--report", "ndjson",
           "--report-ndjson-path", str(report), "--continue-on-failure"]
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=report.parent)
    return summarise(report, proc.stdout + proc.stderr, proc.returncode)


def summarise(report: Path, output: str, returncode: int) -> FuzzResult:
    """Figures from the NDJSON report (version, operations) and the summary (cases, failures)."""
    version, operations = "?", 0
    for line in report.read_text(encoding="utf-8").splitlines() if report.exists() else []:
        kind, body = next(iter(json.loads(line).items()))
        if kind == "Initialize":
            version = body.get("schemathesis_version", "?")
        elif kind == "LoadingFinished":
            operations = body["statistic"]["operations"]["selected"]
    cases = re.search(r"(\d+) generated", output)
    failures = []
    if "=== FAILURES ===" in output:
        block = output.split("=== FAILURES ===", 1)[1].split("=== WARNINGS ===")[0].split("=== SUMMARY ===")[0]
        failures = [part.strip() for part in re.split(r"\n(?=_{4,} )", block) if part.strip().strip("=")]
    elif returncode != 0:
        failures = [f"schemathesis exited {returncode}:\n{output[-4000:]}"]
    return FuzzResult(version, operations, int(cases.group(1)) if cases else 0, failures, output)
