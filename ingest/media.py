"""ffmpeg location and media probing (PyAV, not ffprobe)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from functools import lru_cache

from sanarip.errors import SanaripError

log = logging.getLogger(__name__)

HLS_VIDEO = frozenset({"h264", "hevc"})
HLS_AUDIO = frozenset({"aac", "mp3", "ac3"})
# Demuxers that turn non-media files into "video" (text as ANSI art, still images): refused.
NOT_RECORDINGS = frozenset({"tty", "image2", "bin", "idf", "adf", "xbin", "ansi"})


class MediaError(SanaripError):
    """A source cannot be opened or is not media."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """``ffmpeg`` from PATH, else the static binary shipped in the imageio-ffmpeg wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class Probe:
    video: str | None  # codec name
    audio: str | None
    duration: float | None
    width: int | None = None
    height: int | None = None

    def copy_plan(self) -> tuple[bool, bool, list[str]]:
        """(copy video?, copy audio?, reasons to transcode)."""
        reasons = []
        copy_v = self.video is None or self.video in HLS_VIDEO
        copy_a = self.audio is None or self.audio in HLS_AUDIO
        if not copy_v:
            reasons.append(f"video codec {self.video} cannot be carried in HLS; transcoding to H.264")
        if not copy_a:
            reasons.append(f"audio codec {self.audio} cannot be carried in HLS; transcoding to AAC")
        return copy_v, copy_a, reasons


def probe(source: str, timeout: float = 15.0) -> Probe:
    """Codecs and duration of a file or URL; MediaError if it is not media."""
    import av

    try:
        with av.open(source, timeout=timeout) as container:
            v = next((s for s in container.streams if s.type == "video"), None)
            a = next((s for s in container.streams if s.type == "audio"), None)
            if v is None and a is None:
                raise MediaError(f"{source}: no audio or video stream")
            fmt = container.format.name.split(",")[0]
            if fmt in NOT_RECORDINGS or fmt.endswith("_pipe"):
                raise MediaError(f"{source}: not playable media (a {fmt} file, not a recording)")
            duration = container.duration / 1e6 if container.duration else None
            return Probe(
                video=v.codec_context.name if v is not None else None,
                audio=a.codec_context.name if a is not None else None,
                duration=duration,
                width=v.codec_context.width if v is not None else None,
                height=v.codec_context.height if v is not None else None,
            )
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"{source}: not playable media ({exc})") from None
