"""The audience of bench/live.py: simulated live viewers and idle sockets, in separate processes.

Threads over ``http.client`` reached only ~70 requests/s on two cores (the GIL and one
connection per thread); 500 viewers at the player's cadence ask for ~2,000/s. So each
process runs an asyncio loop with a minimal HTTP/1.1 keep-alive client (one connection per
viewer, like a player), and the bench starts a few such processes. A viewer does what hls.js
and the live page do: every ``cadence`` seconds conditional GETs of the media and subtitle
playlists, then the newest media and VTT segment once each, and every quarter ``cadence`` a
conditional GET of the live-state file (live.js polls it every half second).

Counters live in shared memory (``multiprocessing.Array``, one writer per process), so the
bench reads requests, errors and bytes for exactly its measuring window.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from dataclasses import dataclass

REQUESTS, ERRORS, BYTES, NOT_MODIFIED, IDLE_CLOSED = range(5)


def last_uri(playlist: bytes) -> bytes | None:
    """The newest segment's URI: the playlist's last line that is not a tag."""
    for line in reversed(playlist.splitlines()):
        line = line.strip()
        if line and not line.startswith(b"#"):
            return line
    return None


@dataclass
class LoadSpec:
    host: str
    port: int  # where viewers fetch media (nginx, or the app)
    prefix: str  # "/media/sittings/<id>/"
    viewers: int
    cadence: float = 2.0
    idle_port: int = 0  # where idle sockets connect (the application server)
    idle: int = 0


class Conn:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or a ``Connection: close``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, etag: str | None = None) -> tuple[int, dict[bytes, bytes], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        extra = f"If-None-Match: {etag}\r\n" if etag else ""
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{extra}\r\n".encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if b":" in line:
                name, value = line.split(b":", 1)
                headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16):
                body += await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        elif status != 304 and b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def viewer(spec: LoadSpec, counts) -> None:
    """One player: every ``cadence`` s the playlists, then their new segments; the live-state
    file four times as often (the live page's poll)."""
    await asyncio.sleep(random.uniform(0, spec.cadence))  # players do not start in step
    conn = Conn(spec.host, spec.port)
    etags: dict[str, str] = {}
    newest: dict[str, bytes] = {}
    loop = asyncio.get_running_loop()

    async def fetch(path: str, conditional: bool) -> bytes:
        try:
            status, headers, body = await conn.get(path, etags.get(path) if conditional else None)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            counts[ERRORS] += 1
            conn.close()
            return b""
        counts[REQUESTS] += 1
        counts[BYTES] += len(body)
        if status == 304:
            counts[NOT_MODIFIED] += 1
        elif status >= 400:
            counts[ERRORS] += 1
        if conditional and b"etag" in headers:
            etags[path] = headers[b"etag"].decode()
        return body if status == 200 else b""

    tick = 0
    while True:
        began = loop.time()
        if tick % 4 == 0:  # hls.js: both playlists once a segment duration, then what is new
            for name, folder in (("edge.m3u8", ""), ("subs/live.m3u8", "subs/")):
                body = await fetch(spec.prefix + name, True)
                uri = last_uri(body)
                if uri and uri != newest.get(name):
                    newest[name] = uri
                    await fetch(spec.prefix + folder + uri.decode(), False)
        await fetch(spec.prefix + "live.json", True)  # the live page: every quarter cadence
        tick += 1
        await asyncio.sleep(max(0.0, spec.cadence / 4 - (loop.time() - began)))


async def idle_socket(spec: LoadSpec, counts) -> None:
    """A connection that never sends a byte; when the server closes it, another takes its place."""
    while True:
        try:
            reader, writer = await asyncio.open_connection(spec.host, spec.idle_port)
        except OSError:
            counts[ERRORS] += 1
            await asyncio.sleep(1)
            continue
        await reader.read()  # returns when the server closes it (its idle timeout)
        counts[IDLE_CLOSED] += 1
        writer.close()


async def _main(spec: LoadSpec, counts) -> None:
    tasks = [asyncio.create_task(viewer(spec, counts)) for _ in range(spec.viewers)]
    tasks += [asyncio.create_task(idle_socket(spec, counts)) for _ in range(spec.idle)]
    await asyncio.gather(*tasks)


def run(spec: LoadSpec, counts) -> None:
    """A process's entry point: runs until terminated."""
    asyncio.run(_main(spec, counts))


class Audience:
    """``viewers`` viewers spread over ``processes`` processes (idle sockets in the first)."""

    def __init__(self, spec: LoadSpec, processes: int = 2) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.procs, self.counts = [], []
        for i in range(processes):
            share = spec.viewers // processes + (1 if i < spec.viewers % processes else 0)
            part = LoadSpec(spec.host, spec.port, spec.prefix, share, spec.cadence, spec.idle_port,
                            spec.idle if i == 0 else 0)
            counts = ctx.Array("d", 5, lock=False)
            self.counts.append(counts)
            self.procs.append(ctx.Process(target=run, args=(part, counts), daemon=True))

    def start(self) -> None:
        for p in self.procs:
            p.start()

    def totals(self) -> list[float]:
        return [sum(c[i] for c in self.counts) for i in range(5)]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join(5)
