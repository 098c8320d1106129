"""A frame-accurate cut of an H.264 video that re-encodes only what it must (issue 25's "smart cut").

An H.264 stream can only start on a keyframe, and a sitting's keyframes are seconds apart, so a
clip used to re-encode its whole range. Here only the frames from START to the first keyframe
after it are re-encoded (the head); whole GOPs between that keyframe and the last one before END
are copied as they are; the last GOP is cut by copying its packets up to END when its frames are
not reordered (no B-frames: a prefix of such a GOP decodes alone), else re-encoded too (the
tail). Both re-encodes are at most one GOP, so the cost stays that of a few seconds of video
whatever the range's length.

The packets are read once, in decode order, from the stored segment files, which hold one
continuous clock (the caller checks there is no discontinuity). Every packet written gets its
time on the clip's clock here (no ffmpeg heuristics at the joins): a frame at media time T is
written at T - START, and the re-encoded packets' decode times lag their presentation times by
as much as the copied ones do, so decode times rise across the joins. The result is a video-only
MPEG-TS that ``ingest/clips.py`` muxes with the audio and the subtitles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

EPSILON = 0.0005  # seconds: tolerance when comparing a frame's time with a range end
OFFSET = 10.0  # seconds added to every written time so that no decode time is negative


class CannotSmartCut(Exception):
    """The video is not one a packet copy can cut (no H.264 video, no keyframe to start from)."""


@dataclass
class CutReport:
    """What the cut did, for logs and tests: frames re-encoded and packets copied."""

    encoded: int = 0
    copied: int = 0
    first_frame: float | None = None  # clip-clock time of the first frame written (≥ 0, below one frame)
    parts: list[str] = field(default_factory=list)


def _packets(files: list[Path]) -> Iterator[av.Packet]:
    """The video packets of ``files`` in order, as one stream (the files share one clock)."""
    for path in files:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CannotSmartCut(f"{path.name} has no video")
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None and packet.dts is not None:
                    yield packet


class _Encoder:
    """libx264 with the source's picture format, no B-frames, its packets retimed to the clip's clock."""

    def __init__(self, template: av.VideoFrame, time_base: Fraction, rate: Fraction | None, preset: str) -> None:
        self.ctx = av.CodecContext.create("libx264", "w")
        self.ctx.width, self.ctx.height = template.width, template.height
        self.ctx.pix_fmt = template.format.name
        self.ctx.time_base = time_base
        if rate:
            self.ctx.framerate = rate
        self.ctx.options = {"preset": preset, "crf": "23", "bf": "0"}
        self.count = 0

    def encode(self, frame: av.VideoFrame | None) -> list[av.Packet]:
        if frame is not None:
            frame.pict_type = av.video.frame.PictureType.NONE  # let x264 choose (the first is an IDR)
            self.count += 1
        return list(self.ctx.encode(frame))


def smart_cut(files: list[Path], origin: float, start: float, end: float, out: Path,
              preset: str = "veryfast") -> CutReport:
    """Write the video of ``[start, end)`` (seconds after ``origin``, the files' first timestamp) to ``out``.

    Raises CannotSmartCut before writing anything usable when the video cannot be cut this way.
    """
    report = CutReport()
    with av.open(str(files[0])) as probe:
        if not probe.streams.video or probe.streams.video[0].codec_context.name != "h264":
            raise CannotSmartCut("the video is not H.264")
        template = probe.streams.video[0]
        tb = template.time_base
        rate = template.average_rate or template.guessed_rate
        decoder = av.CodecContext.create("h264", "r")
        if template.codec_context.extradata:
            decoder.extradata = template.codec_context.extradata
        output = av.open(str(out), "w", format="mpegts")
        out_stream = output.add_stream_from_template(template)
    shift = round((origin + start - OFFSET) / tb)  # input ticks → clip-clock ticks (plus OFFSET)

    def seconds(ticks: int) -> float:
        return float(ticks * tb) - origin

    def write(packet: av.Packet, pts: int, dts: int) -> None:
        packet.pts, packet.dts = pts, dts
        packet.time_base = tb
        packet.stream = out_stream
        output.mux(packet)

    encoder: _Encoder | None = None
    pending: list[av.Packet] = []  # the head's encoded packets, written once the copy's decode lag is known
    lag: int | None = None  # pts - dts of the copied keyframes (the source's B-frame delay)
    gop: list[av.Packet] = []  # the copied GOP being read (written when the next keyframe starts in range)
    head = True
    first = True

    def encode_frames(frames, lo: float, hi: float) -> None:
        nonlocal encoder
        for frame in frames:
            t = seconds(frame.pts)
            if t < lo - EPSILON or t >= hi - EPSILON:
                continue
            if encoder is None:
                encoder = _Encoder(frame, tb, rate, preset)
                report.first_frame = t - start
            frame.pts -= shift
            pending.extend(encoder.encode(frame))

    try:
        for packet in _packets(files):
            t = seconds(packet.pts)
            if first and not packet.is_keyframe:
                raise CannotSmartCut("the first segment does not start on a keyframe")
            first = False
            if head:
                if packet.is_keyframe and start - EPSILON <= t < end - EPSILON:
                    head = False  # the first keyframe in the range: copying starts here
                    lag = packet.pts - packet.dts
                    encode_frames(decoder.decode(None), start, t)
                    _flush(encoder, pending, lag, report, write, "head")
                    encoder = None
                    if report.first_frame is None:
                        report.first_frame = t - start
                    gop = [packet]
                    continue
                if packet.is_keyframe and t >= end - EPSILON:
                    break  # the whole range lies within one GOP, already given to the decoder
                encode_frames(decoder.decode(packet), start, end)
                continue
            if packet.is_keyframe:
                if t >= end - EPSILON:
                    break
                for p in gop:
                    write(p, p.pts - shift, p.dts - shift)
                report.copied += len(gop)
                gop = [packet]
            else:
                gop.append(packet)
        if head:
            encode_frames(decoder.decode(None), start, end)
            _flush(encoder, pending, 0, report, write, "head")
        elif gop:
            _tail(gop, end, seconds, shift, tb, rate, preset, write, report, lag or 0)
    finally:
        output.close()
    return report


def _flush(encoder: _Encoder | None, pending: list[av.Packet], lag: int, report: CutReport, write,
           part: str) -> None:
    """Drain ``encoder`` and write its packets, decode times ``lag`` ticks before their presentation."""
    if encoder is None:
        return
    pending.extend(encoder.encode(None))
    for p in pending:
        write(p, p.pts, p.pts - lag)
    report.encoded += encoder.count
    report.parts.append(part)
    pending.clear()


def _tail(gop: list[av.Packet], end: float, seconds, shift: int, tb: Fraction, rate: Fraction | None,
          preset: str, write, report: CutReport, lag: int) -> None:
    """The last GOP up to ``end``: its packets before ``end`` when none is reordered, else re-encoded."""
    if all(p.pts == p.dts for p in gop):
        kept = [p for p in gop if seconds(p.pts) < end - EPSILON]
        for p in kept:
            write(p, p.pts - shift, p.dts - shift)
        report.copied += len(kept)
        return
    decoder = av.CodecContext.create("h264", "r")
    encoder: _Encoder | None = None
    pending: list[av.Packet] = []
    frames = [f for p in [*gop, None] for f in decoder.decode(p)]
    for frame in frames:
        if seconds(frame.pts) >= end - EPSILON:
            continue
        if encoder is None:
            encoder = _Encoder(frame, tb, rate, preset)
        frame.pts -= shift
        pending.extend(encoder.encode(frame))
    _flush(encoder, pending, lag, report, write, "tail")
