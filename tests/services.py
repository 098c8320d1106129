"""Real services for tests and benchmarks, started on 127.0.0.1 and stopped by the caller."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def end_process(proc: subprocess.Popen, timeout: float = 10.0, terminate: bool = True) -> None:
    """Ask a server to stop (SIGTERM unless it was told otherwise), then kill it if it lingers."""
    if terminate and proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def postgres_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields its URL. Runs as ``postgres`` when we are root."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not installed (apt-get install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="sanarip-pg-"))
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(tmp, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = tmp / "data"
    subprocess.run(as_user + [str(bindir / "initdb"), "-D", str(data), "-U", "sanarip", "--auth=trust",
                              "-E", "UTF8"], check=True, capture_output=True)
    proc = subprocess.Popen(
        as_user + [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                   "-k", str(tmp), "-c", "fsync=off", "-c", "max_connections=300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=proc)
        url = f"postgresql://sanarip@127.0.0.1:{port}/postgres"
        import psycopg

        for _ in range(100):
            try:
                psycopg.connect(url).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


def create_pg_database(base_url: str, name: str) -> str:
    """Create database ``name`` in the cluster at ``base_url``; return its URL."""
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


VERSITYGW_VERSION = "v1.8.0"  # built by scripts/install-test-services.sh, which names the same version
VERSITYGW = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sanarip" / \
    f"versitygw-{VERSITYGW_VERSION}" / "versitygw"


def versitygw_version() -> str:
    """The first line of ``versitygw --version`` (``Version  : v1.8.0``), for the test log."""
    if not VERSITYGW.is_file():
        raise FileNotFoundError(f"versitygw not built at {VERSITYGW} (run scripts/install-test-services.sh)")
    out = subprocess.run([str(VERSITYGW), "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].split(":", 1)[-1].strip()


def _has_xattrs(folder: Path) -> bool:
    try:
        os.setxattr(folder, "user.sanarip-probe", b"1")
        os.removexattr(folder, "user.sanarip-probe")
    except OSError:
        return False
    return True


@contextmanager
def versitygw_s3(access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 30.0) -> Iterator[str]:
    """versitygw's posix backend on a temp dir (a bucket is a folder); yields its endpoint URL.

    Object metadata goes in extended attributes, or in a sidecar folder where the temp file
    system has none (tmpfs before Linux 6.6).
    """
    if not VERSITYGW.is_file():
        raise FileNotFoundError(f"versitygw not built at {VERSITYGW} (run scripts/install-test-services.sh)")
    tmp = Path(tempfile.mkdtemp(prefix="sanarip-s3-"))
    root = tmp / "buckets"
    root.mkdir()
    meta: list[str] = []
    if not _has_xattrs(root):
        (tmp / "meta").mkdir()
        meta = ["--sidecar", str(tmp / "meta")]
    port = free_port()
    env = {**os.environ, "ROOT_ACCESS_KEY_ID": access_key, "ROOT_SECRET_ACCESS_KEY": secret_key}
    log = open(tmp / "versitygw.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(VERSITYGW), "--port", f"127.0.0.1:{port}", "--region", region, "--quiet",
                             "posix", *meta, str(root)], env=env, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_port(port, timeout, proc=proc)
            _wait_for_http(endpoint, timeout)
        except (RuntimeError, TimeoutError) as exc:
            log.seek(0)
            output = log.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"versitygw did not start: {exc}\n{output}") from None
        yield endpoint
    finally:
        end_process(proc)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_for_http(url: str, timeout: float) -> None:
    """Until the server answers HTTP at all (an anonymous request gets 403: that is an answer)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} does not answer HTTP after {timeout}s") from None
            time.sleep(0.1)


ES_LAUNCHER = Path(__file__).resolve().parent / "es-launcher"


@dataclass(frozen=True)
class ElasticsearchBuild:
    """One build of tests/es-launcher: the Maven profile that picks the server version, where
    it is built, and the oldest Java release that server runs on."""

    major: str
    profile: str | None
    target: Path
    java: int


ES_BUILDS = {
    "8": ElasticsearchBuild("8", None, ES_LAUNCHER / "target", 17),
    "9": ElasticsearchBuild("9", "es9", ES_LAUNCHER / "target" / "es9", 21),
}


def _java_release(home: Path) -> int | None:
    """The feature release of the JDK at ``home`` (from its ``release`` file), None if it is none."""
    try:
        fields = dict(line.split("=", 1) for line in (home / "release").read_text().splitlines() if "=" in line)
    except OSError:
        return None
    parts = fields.get("JAVA_VERSION", "").strip('"').split(".")
    if not (home / "bin" / "java").is_file() or not parts[0].isdigit():
        return None
    return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])


def find_jdk(minimum: int) -> Path | None:
    """A JDK of release ``minimum`` or later: ``$JAVA_HOME``, the ``java`` on PATH, then the
    ones under /usr/lib/jvm (Debian's and e.g. Temurin's), in that order."""
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    if on_path := shutil.which("java"):
        candidates.append(Path(on_path).resolve().parent.parent)
    candidates += sorted(Path("/usr/lib/jvm").glob("*"))
    return next((home for home in candidates if (_java_release(home) or 0) >= minimum), None)


def build_es_launcher(build: ElasticsearchBuild, jdk: Path) -> None:
    """Compile the launcher and copy its jars to <target>/lib (Maven caches them in ~/.m2)."""
    sources = [ES_LAUNCHER / "pom.xml", *ES_LAUNCHER.glob("src/**/*.java")]
    stamp = build.target / "classes" / "sanarip" / "Launcher.class"
    lib = build.target / "lib"
    if stamp.exists() and lib.is_dir() and all(p.stat().st_mtime <= stamp.stat().st_mtime for p in sources):
        return
    shutil.rmtree(lib, ignore_errors=True)  # no jars of an earlier version left beside the new ones
    profile = ["-P", build.profile] if build.profile else []
    subprocess.run(["mvn", "-q", "-B", "-f", str(ES_LAUNCHER / "pom.xml"), *profile, "compile",
                    "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
                   check=True, env={**os.environ, "JAVA_HOME": str(jdk)})


@contextmanager
def elasticsearch_node(major: str = "8", timeout: float = 180.0) -> Iterator[str]:
    """A real Elasticsearch node of ``major`` ("8" or "9", see tests/es-launcher); yields its URL.
    Runs as ``nobody`` when we are root, because Elasticsearch refuses to run as root."""
    build = ES_BUILDS[major]
    jdk = find_jdk(build.java)
    if shutil.which("mvn") is None or jdk is None:
        raise FileNotFoundError(f"Maven and a JDK {build.java}+ are needed to start the test Elasticsearch {major} "
                                "node (set JAVA_HOME, or install one under /usr/lib/jvm)")
    build_es_launcher(build, jdk)
    home = Path(tempfile.mkdtemp(prefix="sanarip-es-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    target = build.target
    cmd = as_user + [str(jdk / "bin" / "java"), "-Xms512m", "-Xmx1g", "-Dtests.security.manager=false",
                     f"-Dsanarip.es.home={home}", "-Djava.io.tmpdir=" + str(home),
                     "-cp", f"{target / 'classes'}:{target / 'lib'}/*", "sanarip.Launcher"]
    log = open(home.parent / f"{home.name}.log", "a+b")  # noqa: SIM115 - closed below; appends: two writers
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    drain: threading.Thread | None = None
    try:
        url = None
        deadline = time.monotonic() + timeout
        while url is None:
            line = proc.stdout.readline().decode(errors="replace")
            if line.startswith("SANARIP_ES_URL="):
                url = line.split("=", 1)[1].strip()
            elif not line and proc.poll() is not None:
                log.seek(0)
                raise RuntimeError("Elasticsearch launcher exited:\n" + log.read().decode(errors="replace")[-3000:])
            if time.monotonic() > deadline:
                raise TimeoutError("Elasticsearch did not start in time")
        # The node logs to stdout too: an unread pipe fills (64 KiB) and blocks its master thread
        # inside a cluster-state update, so keep draining it into the log.
        drain = threading.Thread(target=shutil.copyfileobj, args=(proc.stdout, log), daemon=True)
        drain.start()
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()  # the launcher stops the node when its stdin closes
        end_process(proc, 30, terminate=False)
        if drain is not None:
            drain.join(10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)
        Path(log.name).unlink(missing_ok=True)


RTSP_SERVER = Path(__file__).resolve().parent / "rtsp_server.py"
SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's python3-gi serves only this interpreter


def gstreamer_rtsp_missing() -> str | None:
    """Why the GStreamer RTSP server cannot run here, or None when it can."""
    check = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    if not SYSTEM_PYTHON.exists() or subprocess.run([str(SYSTEM_PYTHON), "-c", check],
                                                    capture_output=True).returncode != 0:
        return "GStreamer's RTSP server is not installed (apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi)"
    return None


class RtspServer:
    """GStreamer's RTSP server (tests/rtsp_server.py) looping ``clip`` at ``url`` over TCP.

    ``stop()`` and ``start()`` again keep the port, to simulate a camera or encoder that drops
    and comes back.
    """

    def __init__(self, clip: Path, mount: str = "/sitting") -> None:
        self.clip, self.mount = clip, mount
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}{mount}"
        self.version = ""
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [str(SYSTEM_PYTHON), str(RTSP_SERVER), str(self.clip), "--port", str(self.port), "--mount", self.mount],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""  # "READY <version>" once it listens
        if not line.startswith("READY "):
            status = self.proc.poll()
            self.stop()
            raise RuntimeError(f"the RTSP server did not start (exit status {status})")
        self.version = line.split(" ", 1)[1].strip()
        wait_for_port(self.port, timeout, self.proc)

    def stop(self) -> None:
        if self.proc is None:
            return
        end_process(self.proc)
        self.proc.stdout.close()
        self.proc = None


@contextmanager
def rtsp_server(clip: Path) -> Iterator[RtspServer]:
    """A started RtspServer for ``clip``, stopped on exit."""
    server = RtspServer(clip)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- SMTP (alerts) ---------------------------------------------------------------------------
class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.port = port or free_port()
        self.messages: list = []  # email.message.EmailMessage, in the order accepted
        self.envelopes: list[tuple[str, list[str]]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                from email import message_from_bytes, policy

                sink.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                        policy=policy.default))
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def aiosmtpd_version() -> str:
    from importlib.metadata import version

    return version("aiosmtpd")
