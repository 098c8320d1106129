"""Record a live source into an HLS archive that survives stream drops.

One ffmpeg process per connection remuxes (``-c copy``) the source into 2 s MPEG-TS
segments and, from the same input, 16 kHz mono PCM on its stdout, which ``ingest.audiotap``
stores as short WAV chunks for the live transcriber as it arrives. The segment muxer's CSV list
tells us when each media segment is complete; it is then uploaded to storage, gets a
``media_segment`` row, and the live playlist is rewritten. When the source
drops, the recorder reconnects with backoff, records the gap with its wall-clock span and
continues the same sitting after an ``EXT-X-DISCONTINUITY``. Media time stays monotonic:
it is the sum of recorded segment durations, gaps excluded.
"""

from __future__ import annotations

import csv
import http.client
import logging
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ffmpeg
from sqlalchemy import delete, select

from ingest.audiotap import AudioTap
from ingest.media import MediaError, Probe, ffmpeg_exe, probe
from ingest.poster import try_make_poster
from sanarip import procs
from sanarip.errors import SanaripError
from sanarip.jobs import JobContext, JobInterrupted, PermanentFailure
from sanarip.medialayout import (
    audio_chunks_prefix,
    build_playlist,
    edge_playlist_key,
    live_playlist_key,
    segment_key,
    vod_playlist_key,
)
from sanarip.models import MediaSegment, Sitting, utcnow
from sanarip.pipeline import LivePayload, RecordPayload
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus, get_sitting, transition
from sanarip.subtitles import PLAYLIST_TYPE, WINDOW, write_main

log = logging.getLogger(__name__)

POLL = 0.2


class RecordingError(SanaripError):
    """A recording could not be made (bad source, nothing ever received)."""


@dataclass
class RecorderState:
    """What is known about the sitting's recording so far (rebuilt from the DB on resume)."""

    segments: list[MediaSegment] = field(default_factory=list)
    next_seq: int = 0
    media_time: float = 0.0
    chunk_seq: int = 0

    @property
    def last_wall_end(self) -> datetime | None:
        media = [s for s in self.segments if not s.is_gap and s.wall_clock_end]
        return media[-1].wall_clock_end if media else None


def build_command(
    source: str, workdir: Path, info: Probe | None, segment_seconds: float, live_audio: bool = True
) -> list[str]:
    """The ffmpeg command for one connection (ffmpeg-python builds it)."""
    in_opts: dict[str, Any] = {}
    if source.startswith(("http://", "https://")):
        in_opts.update(rw_timeout=10_000_000, reconnect=0)
        if ".m3u8" in source:
            in_opts.update(live_start_index=-1, m3u8_hold_counters=3)
    elif source.startswith("rtsp"):
        in_opts.update(rtsp_transport="tcp", timeout=10_000_000)
    elif source.startswith("rtmp"):
        in_opts.update(rw_timeout=10_000_000)
    inp = ffmpeg.input(source, **in_opts)
    copy_v, copy_a, reasons = info.copy_plan() if info else (True, True, [])
    for reason in reasons:
        log.warning("%s: %s", source, reason)
    has_video = info is None or info.video is not None
    has_audio = info is None or info.audio is not None
    streams = ([inp["v:0"]] if has_video else []) + ([inp["a:0"]] if has_audio else [])
    codec: dict[str, Any] = {"vcodec": "copy" if copy_v else "libx264", "acodec": "copy" if copy_a else "aac"}
    if not copy_v:
        codec.update(preset="veryfast", g=int(segment_seconds * 25), sc_threshold=0)
    outputs = [ffmpeg.output(
        *streams, str(workdir / "seg_%05d.ts"), f="segment", segment_time=segment_seconds,
        segment_format="mpegts", segment_list=str(workdir / "segments.csv"), segment_list_type="csv",
        segment_list_flags="+live", **codec,
    )]
    if has_audio and live_audio:  # flushed packet by packet: the pipe's reader stores what arrives
        # Raw PCM carries no timestamps, so holes in the source's audio are filled with silence
        # (and overlaps cut): the samples read stay on the media timeline.
        outputs.append(ffmpeg.output(inp["a:0"], "pipe:1", f="s16le", acodec="pcm_s16le", ac=1, ar=16000,
                                     af="aresample=async=1:first_pts=0", flush_packets=1))
    return ffmpeg.merge_outputs(*outputs).global_args("-hide_banner", "-loglevel", "error", "-nostdin") \
        .compile(cmd=ffmpeg_exe())


def _read_csv(path: Path, seen: int) -> list[tuple[str, float, float]]:
    """Complete rows of a segment list after the first ``seen``."""
    if not path.exists():
        return []
    text = path.read_text()
    rows = [r for r in csv.reader(text.splitlines()) if len(r) == 3]
    if not text.endswith("\n") and rows:
        rows = rows[:-1]
    return [(name, float(a), float(b)) for name, a, b in rows[seen:]]


PDT_RE = re.compile(rb"#EXT-X-PROGRAM-DATE-TIME:(\S+)")


def _last_program_date_time(playlist: bytes | None) -> datetime | None:
    """The wall clock of the newest segment in an HLS playlist (where we start reading)."""
    found = PDT_RE.findall(playlist or b"")
    if not found:
        return None
    try:
        stamp = datetime.fromisoformat(found[-1].decode().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else None


class _HlsWatch:
    """Watches an HLS source's playlist: stalled when it stops changing for 3 target durations.

    ffmpeg's HLS reader waits a long time for a frozen playlist, and a publisher that comes
    back quickly can hide the drop from it; watching the playlist catches both.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.last = _source_snapshot(source)
        self.changed = time.monotonic()

    def stalled(self) -> bool:
        if self.last is None:
            return False
        body = _source_snapshot(self.source)
        now = time.monotonic()
        if body is not None and body != self.last:
            self.last, self.changed = body, now
            return False
        m = re.search(rb"#EXT-X-TARGETDURATION:(\d+)", self.last)
        target = int(m.group(1)) if m else 6
        return now - self.changed > 3 * target + 1


def _source_snapshot(source: str) -> bytes | None:
    """For HLS sources: the playlist body (to tell a stalled source from a live one)."""
    if ".m3u8" not in source or not source.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(source, timeout=5) as resp:
            return resp.read()
    except (OSError, http.client.HTTPException):  # unreachable, or a broken answer: no snapshot
        return None


class Recorder:
    """Records one sitting. ``from_file=True`` imports a recording instead: read at full speed,
    no live audio chunks, no reconnects, wall clock from the sitting's start time."""

    def __init__(self, runtime: Runtime, sitting_id: int, ctx: JobContext | None = None,
                 from_file: bool = False) -> None:
        self.rt = runtime
        self.sitting_id = sitting_id
        self.ctx = ctx
        self.from_file = from_file
        self.live_audio = False
        self.settings = runtime.settings
        self.state = RecorderState()
        self._main_written = False
        self.workdir = self.settings.data_dir / "work" / f"record-{sitting_id}"

    # --- state ----------------------------------------------------------------------------
    def _load(self) -> tuple[str, datetime | None]:  # noqa: C901
        with self.rt.db.session() as s:
            sitting = get_sitting(s, self.sitting_id)
            source = sitting.source_url or sitting.committee.stream_url
            if not source:
                raise RecordingError(f"sitting {self.sitting_id} has no source URL and its committee no stream URL")
            rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == self.sitting_id)
                                  .order_by(MediaSegment.seq)))
            for row in rows:
                s.expunge(row)
            self.state.segments = rows
            self.state.next_seq = rows[-1].seq + 1 if rows else 0
            self.state.media_time = sum(r.duration for r in rows if not r.is_gap)
            self.state.chunk_seq = len(self.rt.storage.list(audio_chunks_prefix(self.sitting_id)))
            if sitting.status != SittingStatus.LIVE:  # scheduled, or failed and recorded again
                transition(sitting, SittingStatus.LIVE)
            sitting.started_at = sitting.started_at or utcnow()
            self.started_at = sitting.started_at
            return source, sitting.scheduled_end

    def _stop_reason(self, end_at: datetime | None) -> str | None:
        if self.ctx is not None and self.ctx.should_stop():
            return "worker stopping"
        if end_at is not None and utcnow() >= end_at:
            return "scheduled end"
        with self.rt.db.session(readonly=True) as s:
            if s.scalar(select(Sitting.stop_requested).where(Sitting.id == self.sitting_id)):
                return "stop requested"
        return None

    def _add_row(self, row: MediaSegment) -> None:
        with self.rt.db.session() as s:
            s.add(row)
            s.flush()
            s.expunge(row)
        self.state.segments.append(row)
        self.state.next_seq = row.seq + 1

    def _publish_playlist(self, final: bool) -> None:
        """The EVENT (or, when final, VOD) playlist, the sliding window live players load (ended
        when final), and the multivariant ``main.m3u8`` (once live, again when final)."""
        segments, storage = self.state.segments, self.rt.storage
        text = build_playlist(segments, final)
        key = vod_playlist_key(self.sitting_id) if final else live_playlist_key(self.sitting_id)
        storage.put_bytes(key, text.encode(), PLAYLIST_TYPE)
        # The window players load; once final it ends there (EXT-X-ENDLIST), at the same media sequence.
        edge = build_playlist(segments, final, window=WINDOW, target=self._target)
        storage.put_bytes(edge_playlist_key(self.sitting_id), edge.encode(), PLAYLIST_TYPE)
        if final or not self._main_written:
            write_main(storage, self.sitting_id, segments, live=not final)
            self._main_written = True

    @property
    def _target(self) -> int:
        """EXT-X-TARGETDURATION of the live window: fixed by the configured segment length (it may
        not change between reloads), or a longer segment already recorded."""
        longest = max([int(s.duration + 0.999) for s in self.state.segments if not s.is_gap] or [0])
        return max(longest, int(self.settings.segment_seconds + 0.999) + 1)

    def add_gap(self, start: datetime, end: datetime) -> None:
        """Record that nothing was received from ``start`` to ``end`` (wall clock)."""
        log.warning("sitting %s: gap from %s to %s (%.1f s)", self.sitting_id, start, end,
                    (end - start).total_seconds())
        self._add_row(MediaSegment(sitting_id=self.sitting_id, seq=self.state.next_seq,
                                   media_start=self.state.media_time, duration=0.0, wall_clock_start=start,
                                   wall_clock_end=end, is_gap=True))

    # --- one connection -------------------------------------------------------------------
    def _collect(self, run_dir: Path, started: datetime, counters: dict[str, int], first_of_run: bool) -> bool:
        """Upload finished media segments; True if anything new arrived."""
        new = False
        for name, a, b in _read_csv(run_dir / "segments.csv", counters["seg"]):
            counters["seg"] += 1
            seq = self.state.next_seq
            key = segment_key(self.sitting_id, seq)
            self.rt.storage.put_file(key, run_dir / name, "video/mp2t")
            (run_dir / name).unlink(missing_ok=True)
            self._add_row(MediaSegment(
                sitting_id=self.sitting_id, seq=seq, media_start=self.state.media_time, duration=b - a,
                wall_clock_start=started + timedelta(seconds=a), wall_clock_end=started + timedelta(seconds=b),
                path=key, discontinuity=first_of_run and counters["seg"] == 1,
            ))
            self.state.media_time += b - a
            new = True
        if new:
            self._publish_playlist(final=False)
        return new

    def _connection(self, source: str, info: Probe | None, end_at: datetime | None, run: int) -> str | None:
        """Record one connection until it ends; returns a stop reason, or None if the source dropped."""
        run_dir = self.workdir / f"run-{run}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        cmd = build_command(source, run_dir, info, self.settings.segment_seconds, live_audio=self.live_audio)
        log.debug("ffmpeg: %s", " ".join(cmd))
        base_media = self.state.media_time
        if self.from_file:
            started = self.started_at + timedelta(seconds=base_media)
        else:  # an HLS source tells the wall clock of the segment we start at; else: now, less its lag
            started = _last_program_date_time(_source_snapshot(source)) or self._received_now()
        watch = _HlsWatch(source) if not self.from_file else None
        stall = 2 * self.settings.segment_seconds + 10
        counters = {"seg": 0}
        reason = None
        tap = None
        stderr = open(run_dir / "ffmpeg.log", "wb")  # noqa: SIM115 - closed below; a pipe could fill up
        proc = procs.spawn(cmd, stdout=subprocess.PIPE if self.live_audio else subprocess.DEVNULL, stderr=stderr)
        try:
            if self.live_audio:
                tap = AudioTap(self.rt.storage, self.sitting_id, self.state.chunk_seq, base_media, proc.stdout)
                tap.start()
            now = time.monotonic()
            last_progress = last_check = now
            while proc.poll() is None:
                time.sleep(POLL)
                now = time.monotonic()
                if self._collect(run_dir, started, counters, run > 0 or bool(self.state.segments)):
                    last_progress = now
                    if self.ctx is not None and info is not None and info.duration:
                        self.ctx.report(remuxed=round(self.state.media_time, 1), total=round(info.duration, 1))
                if now - last_check < 1.0:
                    continue
                last_check = now
                reason = self._stop_reason(end_at)
                if reason:
                    break
                if now - last_progress > stall or (watch is not None and watch.stalled()):
                    log.warning("sitting %s: source stalled, reconnecting", self.sitting_id)
                    break
        finally:
            procs.stop(proc)
            stderr.close()
            err = (run_dir / "ffmpeg.log").read_text(errors="replace").strip()
            if err:
                log.info("sitting %s: ffmpeg said: %s", self.sitting_id, err.splitlines()[-1])
            if tap is not None:
                tap.join()  # the rest of the audio is stored; a storage failure is raised here
                self.state.chunk_seq = tap.seq
            elif proc.stdout is not None:
                proc.stdout.close()
        self._collect(run_dir, started, counters, run > 0)
        shutil.rmtree(run_dir, ignore_errors=True)
        if self.from_file:
            if proc.returncode not in (0, 255, -2):
                detail = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
                raise MediaError(f"ffmpeg could not convert {source}: {detail}")
            return reason or "end of file"
        return reason

    # --- the whole recording ----------------------------------------------------------------
    def run(self, end_at: datetime | None = None) -> str | None:
        """Record until the end, a stop, or the source gone past the grace period; returns the
        failure reason, or None once the sitting is recorded."""
        source, scheduled_end = self._load()
        end_at = end_at or scheduled_end
        interrupted_at = self.state.last_wall_end
        if self.from_file and self.state.segments:  # an interrupted import starts over
            self._discard_media()
        elif interrupted_at is not None:  # resuming after a killed worker
            self.add_gap(interrupted_at, utcnow())
        info: Probe | None = None
        if not source.startswith("rtmp"):  # an RTMP server may serve one client only: no probe
            try:
                info = probe(source)
            except MediaError as exc:
                if self.from_file:
                    raise
                if not self.state.segments:
                    return self._finish(f"cannot open source: {exc}")
        self.live_audio = not self.from_file and (info is None or info.audio is not None)
        if self.live_audio:  # the live draft follows the audio chunks while we record
            self.rt.queue.submit(LivePayload(self.sitting_id))
        run, reason, snapshot = 0, None, None
        while True:
            reason = self._connection(source, info, end_at, run)
            run += 1
            if reason:
                break
            dropped_at = self.state.last_wall_end or utcnow()
            snapshot = _source_snapshot(source)
            reason = self._reconnect_wait(source, dropped_at, end_at, snapshot)
            if reason:
                break
            self.add_gap(dropped_at, _last_program_date_time(_source_snapshot(source)) or self._received_now())
        return self._finish(None if self.state.segments else f"no media received ({reason})", reason)

    def _received_now(self) -> datetime:
        """The source's clock for what arrives now, when it states none: receive time minus its delay."""
        return utcnow() - timedelta(seconds=self.settings.source_delay)

    def _reconnect_wait(self, source: str, dropped_at: datetime, end_at: datetime | None,
                        snapshot: bytes | None) -> str | None:
        """Wait with backoff until the source answers again; a stop reason if it does not."""
        delay = 1.0
        while True:
            reason = self._stop_reason(end_at)
            if reason:
                return reason
            if (utcnow() - dropped_at).total_seconds() > self.settings.reconnect_grace:
                return f"source gone for more than {self.settings.reconnect_grace:.0f} s"
            if snapshot is not None:  # HLS: new media in the playlist means the source is back
                now_body = _source_snapshot(source)
                log.debug("sitting %s: waiting for the source (%s)", self.sitting_id,
                          "changed" if now_body not in (None, snapshot) else "unchanged")
                if now_body not in (None, snapshot):
                    return None
            elif source.startswith("rtmp"):
                return None  # the next ffmpeg run is the probe (an RTMP server may serve one client)
            else:
                try:
                    probe(source, timeout=5)
                    return None
                except MediaError:
                    pass
            time.sleep(delay)
            # A live source (HLS, RTSP) is retried every 2 s at most, so the sitting resumes within
            # seconds of the encoder coming back; an RTSP server that is down refuses at once.
            delay = min(delay * 2, 2.0 if snapshot is not None or source.startswith("rtsp") else 8.0)

    def _discard_media(self) -> None:
        with self.rt.db.session() as s:
            s.execute(delete(MediaSegment).where(MediaSegment.sitting_id == self.sitting_id))
        self.state = RecorderState()

    def _finish(self, failure: str | None, reason: str | None = None) -> str | None:
        if self.ctx is not None and self.ctx.stopping.is_set() and reason == "worker stopping":
            raise JobInterrupted("recording handed back to the queue")
        if self.state.segments:
            self._publish_playlist(final=True)
        with self.rt.db.session() as s:
            sitting = get_sitting(s, self.sitting_id)
            # An imported file ends its own duration after its start, not when the remux finished.
            sitting.ended_at = (sitting.started_at + timedelta(seconds=self.state.media_time)
                                if self.from_file and sitting.started_at else utcnow())
            sitting.duration = self.state.media_time
            if failure:
                transition(sitting, SittingStatus.FAILED, failure)
                log.error("sitting %s: recording failed: %s", self.sitting_id, failure)
            else:
                transition(sitting, SittingStatus.RECORDED)
                log.info("sitting %s: recorded %.1f s (%s)", self.sitting_id, self.state.media_time, reason)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return failure


def run_record_job(ctx: JobContext) -> None:
    """The ``record`` job; the pipeline transcribes the recording next."""
    args: RecordPayload = ctx.args
    failure = Recorder(ctx.runtime, args.sitting, ctx).run(datetime.fromisoformat(args.end_at) if args.end_at else None)
    if failure:
        raise PermanentFailure(failure)
    try_make_poster(ctx.runtime, args.sitting)
