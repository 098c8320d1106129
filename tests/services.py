"""Real services for tests and benchmarks, started on 127.0.0.1 and stopped by the caller."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's standalone S3 server over HTTP; yields its endpoint URL."""
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    if exe is None:
        raise FileNotFoundError("moto_server not installed (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


ES_LAUNCHER = Path(__file__).resolve().parent / "es-launcher"


def build_es_launcher() -> None:
    """Compile the launcher and copy its jars to target/lib (Maven caches them in ~/.m2)."""
    target = ES_LAUNCHER / "target"
    sources = [ES_LAUNCHER / "pom.xml", *ES_LAUNCHER.glob("src/**/*.java")]
    stamp = target / "classes" / "sanarip" / "Launcher.class"
    if stamp.exists() and (target / "lib").is_dir() and all(
            p.stat().st_mtime <= stamp.stat().st_mtime for p in sources):
        return
    subprocess.run(["mvn", "-q", "-B", "-f", str(ES_LAUNCHER / "pom.xml"), "compile",
                    "dependency:copy-dependencies", "-DoutputDirectory=target/lib"], check=True)


@contextmanager
def elasticsearch_node(timeout: float = 180.0) -> Iterator[str]:
    """A real Elasticsearch node (see tests/es-launcher); yields its URL. Runs as ``nobody``
    when we are root, because Elasticsearch refuses to run as root."""
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise FileNotFoundError("Maven and a JDK are needed to start the test Elasticsearch node")
    build_es_launcher()
    home = Path(tempfile.mkdtemp(prefix="sanarip-es-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    target = ES_LAUNCHER / "target"
    cmd = as_user + ["java", "-Xms512m", "-Xmx1g", "-Dtests.security.manager=false",
                     f"-Dsanarip.es.home={home}", "-Djava.io.tmpdir=" + str(home),
                     "-cp", f"{target / 'classes'}:{target / 'lib'}/*", "sanarip.Launcher"]
    log = open(home.parent / f"{home.name}.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
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
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
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
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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
