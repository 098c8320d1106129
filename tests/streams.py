"""Simulated livestreams for tests and benchmarks: small real media published in real time."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.media import ffmpeg_exe
from sanarip.pipeline import JobKind
from tests.services import end_process, free_port, wait_for_port

SANARIP = str(Path(sys.executable).parent / "sanarip")


def make_clip(path: Path, seconds: float, speech: Path | None = None, size: str = "320x180", fps: int = 10,
              gop: float = 2.0) -> Path:
    """An H.264/AAC MP4: a test pattern with a clock, and speech (or a tone) as audio."""
    audio = ["-i", str(speech)] if speech else ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}", *audio,
           "-filter_complex", f"[1:a]apad=whole_dur={seconds},aresample=44100[a]",
           "-map", "0:v", "-map", "[a]", "-t", str(seconds),
           "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(int(fps * gop)),
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ac", "1", str(path)]
    subprocess.run(cmd, check=True)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def http_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL."""
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


class HlsPublisher:
    """ffmpeg publishing a clip in real time as a live HLS stream into ``folder``."""

    def __init__(self, clip: Path, folder: Path, segment: float = 2.0, loop: bool = False) -> None:
        self.clip, self.folder, self.segment, self.loop = clip, folder, segment, loop
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self, append: bool = False) -> None:
        flags = "program_date_time+omit_endlist" + ("+append_list" if append else "")
        loop = ["-stream_loop", "-1"] if self.loop else []
        self.proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", *loop, "-i", str(self.clip), "-c", "copy",
             "-f", "hls", "-hls_time", str(self.segment), "-hls_list_size", "6", "-hls_flags", flags,
             "-hls_segment_filename", str(self.folder / "src_%05d.ts"), str(self.folder / "live.m3u8")],
            stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def wait(self, timeout: float) -> None:
        if self.proc:
            self.proc.wait(timeout)


@dataclass
class LiveChain:
    """A live sitting's running processes, as ``live_chain`` yields them."""

    url: str  # the app
    port: int
    sitting: int
    server: subprocess.Popen
    recorder: subprocess.Popen


@contextmanager
def live_chain(folder: Path, clip: Path, env: dict[str, str], duration: float, warm_up: float = 10.0,
               port: int | None = None) -> Iterator[LiveChain]:
    """The whole live path as an operator runs it: `sanarip serve` (on ``port``), a live worker,
    ``clip`` published in a loop as live HLS (1 s segments) from ``folder``, and `sanarip record`
    of it for ``duration`` s. ``warm_up`` s pass between the worker's start and the sitting's, so
    the worker has imported faster-whisper by then. Everything is stopped on exit."""
    port = port or free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen([SANARIP, "serve", "--port", str(port)], env=env, **quiet)
    worker = subprocess.Popen([SANARIP, "worker", "--kinds", JobKind.LIVE.value], env=env, **quiet)
    publisher = HlsPublisher(clip, folder, segment=1.0, loop=True)
    recorder = None
    try:
        wait_for_port(port, proc=server)
        time.sleep(warm_up)
        with http_folder(folder) as src:
            publisher.start()
            time.sleep(3)  # the source's first segments are listed
            recorder = subprocess.Popen([SANARIP, "record", f"{src}/live.m3u8", "--committee", "budget",
                                         "--duration", str(duration)], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
            sitting = int(recorder.stdout.readline())
            yield LiveChain(f"http://127.0.0.1:{port}", port, sitting, server, recorder)
    finally:
        if recorder is not None:
            end_process(recorder)
        publisher.kill()
        for proc in (worker, server):
            end_process(proc)


@contextmanager
def rtmp_server(clip: Path) -> Iterator[str]:
    """ffmpeg listening as an RTMP server that plays ``clip`` in real time to one client."""
    url = f"rtmp://127.0.0.1:{free_port()}/live/sitting"
    proc = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip),
                             "-c", "copy", "-f", "flv", "-listen", "1", url], stdin=subprocess.DEVNULL)
    try:
        yield url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
