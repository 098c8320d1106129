"""Shared fixtures: test data, a throwaway PostgreSQL cluster, an S3 endpoint, databases.

Real services are started once per test session on 127.0.0.1 and stopped at the end.
Under CI (``CI=true``) a missing service or data set fails the run instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

from sanarip.config import load_settings
from sanarip.runtime import Runtime
from tests.services import (
    ES_BUILDS,
    create_pg_database,
    elasticsearch_node,
    postgres_bindir,
    postgres_cluster,
    versitygw_s3,
    versitygw_version,
)

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TESTDATA = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata"))


# Seconds spent starting each real service, summed over its starts; printed at the end of the run
# so every change can report what its services cost.
STARTUP: dict[str, list[float]] = {}


@contextmanager
def startup(service: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        STARTUP.setdefault(service, []).append(time.monotonic() - started)


def report_line(config: pytest.Config, message: str) -> None:
    """Write ``message`` to the terminal now, e.g. a server's version from a fixture: with output
    capture on (during set-up too), the terminal reporter's own writes would land in the capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else nullcontext():
        reporter.write_line(message)


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "not installed"
    return out.splitlines()[0].strip() if out else "not installed"


def pytest_report_header(config) -> list[str]:
    """The real programs the suite drives that have no fixture line of their own."""
    from ingest.media import ffmpeg_exe

    bindir = postgres_bindir()
    return [f"ffmpeg: {_version([ffmpeg_exe(), '-version'])}",
            f"PostgreSQL: {_version([str(bindir / 'postgres'), '--version']) if bindir else 'not installed'}",
            f"Chromium: {_version([str(CHROMIUM), '--version'])}"]


def pytest_terminal_summary(terminalreporter) -> None:
    for service, seconds in sorted(STARTUP.items()):
        terminalreporter.write_line(f"phase service start-up ({service}, {len(seconds)}x): {sum(seconds):.1f} s")


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail under CI, where everything must be present."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared real-speech recordings (``SANARIP_TESTDATA``, default ../shared/testdata)."""
    if not (TESTDATA / "README.md").is_file():
        unavailable(f"test data not found at {TESTDATA} (set SANARIP_TESTDATA)")
    return TESTDATA


# --- PostgreSQL ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for this test session."""
    if postgres_bindir() is None:
        unavailable("PostgreSQL server binaries not installed (apt-get install postgresql)")
    cluster = postgres_cluster()
    with startup("postgresql"):
        url = cluster.__enter__()
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: SQLite in a temp dir, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sanarip.db'}"
    return create_pg_database(request.getfixturevalue("postgres_url"), f"t{os.getpid()}_{time.monotonic_ns()}")


@pytest.fixture
def settings_env(tmp_path) -> dict[str, str]:
    """Environment for a Sanarip process isolated in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env["SANARIP_DATA_DIR"] = str(tmp_path / "data")
    env["SANARIP_SECRET_KEY"] = "test-secret"
    return env


@pytest.fixture
def runtime(tmp_path, settings_env, database_url) -> Iterator[Runtime]:
    """A migrated Runtime on SQLite and PostgreSQL, local storage under ``tmp_path``."""
    settings_env["SANARIP_DATABASE_URL"] = database_url
    rt = Runtime(load_settings(settings_env))
    rt.db.upgrade()
    yield rt
    rt.close()


@pytest.fixture
def sqlite_runtime(tmp_path, settings_env) -> Iterator[Runtime]:
    """A migrated Runtime on the embedded defaults only."""
    rt = Runtime(load_settings(settings_env))
    rt.db.upgrade()
    yield rt
    rt.close()


# --- S3 -------------------------------------------------------------------------------------
S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION = "sanarip-test", "sanarip-test-secret", "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint(request) -> Iterator[str]:
    """A real S3 server (versitygw, posix backend) over HTTP on 127.0.0.1.

    Its root credentials go into the ``AWS_*`` variables, which boto3 (and every ``sanarip``
    subprocess) reads, overriding any a developer has set.
    """
    os.environ.update(AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY,
                      AWS_DEFAULT_REGION=S3_REGION)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        version = versitygw_version()
        server = versitygw_s3(S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION)
        with startup("s3"):
            endpoint = server.__enter__()
    except FileNotFoundError as exc:
        unavailable(str(exc))
    report_line(request.config, f"S3 server versitygw {version} (posix backend) at {endpoint}")
    try:
        yield endpoint
    finally:
        server.__exit__(None, None, None)


def run_cli(*args: str, env: dict[str, str], input: str | None = None, timeout: float = 600,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed ``sanarip`` command in a subprocess, as a user would."""
    exe = Path(sys.executable).parent / "sanarip"
    proc = subprocess.run([str(exe), *args], env=env, input=input, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"sanarip {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


# --- Elasticsearch ------------------------------------------------------------------------------
def _elasticsearch_node(request, major: str) -> Iterator[str]:
    """Start the ``major`` node, print its version (so the run names each version it tested), yield its URL."""
    from elasticsearch import Elasticsearch

    try:
        node = elasticsearch_node(major)
        with startup(f"elasticsearch {major}"):
            url = node.__enter__()
    except FileNotFoundError as exc:
        unavailable(str(exc))
    try:
        client = Elasticsearch(url, request_timeout=30)
        client.cluster.health(wait_for_status="yellow", timeout="60s")
        node_info = next(iter(client.nodes.info()["nodes"].values()))  # GET / lives in a module we lack
        report_line(request.config, f"Elasticsearch node {node_info['version']} ({node_info['build_flavor']}, "
                                    f"Java {node_info['jvm']['version']}) at {url}")
        client.close()
        yield url
    finally:
        node.__exit__(None, None, None)


# One module-scoped node per major, started only for modules whose tests need it (it is not
# idle-cheap); tests isolate themselves with index prefixes.
@pytest.fixture(scope="module")
def elasticsearch8_url(request) -> Iterator[str]:
    """A real Elasticsearch 8.x node."""
    yield from _elasticsearch_node(request, "8")


@pytest.fixture(scope="module")
def elasticsearch9_url(request) -> Iterator[str]:
    """A real Elasticsearch 9.x node (Java 21+)."""
    yield from _elasticsearch_node(request, "9")


@pytest.fixture(scope="module", params=[pytest.param(major, id=f"elasticsearch{major}") for major in ES_BUILDS])
def elasticsearch_url(request) -> str:
    """A real Elasticsearch node, once of each major: a test using it runs on 8.x and on 9.x."""
    return request.getfixturevalue(f"elasticsearch{request.param}_url")


# --- Browser -------------------------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (which must not download a browser of its own)."""
    if not CHROMIUM.exists():
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        with startup("chromium"):
            b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                  args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                        "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A new English page; its screenshot lands in test-artifacts/<test>.png at the end."""
    context = browser.new_context(locale="en-US")
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


# --- SMTP (alerts) ---------------------------------------------------------------------------
@pytest.fixture
def smtp_sink(request) -> Iterator:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it accepts; a fresh one per test."""
    try:
        from tests.services import SmtpSink, aiosmtpd_version

        sink = SmtpSink()
    except ImportError:
        unavailable("aiosmtpd not installed (pip install aiosmtpd; it is in the dev extra)")
    with startup("smtp"):
        sink.start()
    report_line(request.config, f"SMTP server aiosmtpd {aiosmtpd_version()} at {sink.url}")
    try:
        yield sink
    finally:
        sink.stop()
