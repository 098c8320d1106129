"""Where a sitting's media lives in storage, and how to get it onto the local disk.

Storage has a public part and a private one, told apart by the key's first component:

* ``sittings/<id>/`` is public (the web app serves only keys under ``sittings/``):
  ``seg_00000.ts`` … (HLS segments), ``live.m3u8`` (the EVENT playlist, grows while recording),
  ``edge.m3u8`` (its sliding window, what live players load), ``index.m3u8`` (the VOD playlist
  once finalized), ``main.m3u8`` (the multivariant playlist: media + subtitles), ``subs/…``
  (the WebVTT subtitle rendition, ``sanarip/subtitles.py``), ``live.json`` (the live-state
  file, ``sanarip/livestate.py``) and ``poster.jpg`` (one frame, the home page's card image).
* ``work/sittings/<id>/`` holds a sitting's private working files, never served and deleted
  once the final pass has finished (``delete_working_files``): ``audio/chunk_000000_000000002039.wav``
  … (16 kHz mono chunks of about ``AUDIO_CHUNK_SECONDS`` for the live transcriber, about 115 MB per sitting-hour,
  named by sequence and media-time offset in milliseconds, so the transcriber needs no index)
  and ``final-pass/span_00000.json`` … (the final pass's per-span checkpoints).

Keeping the private files under another top-level prefix, rather than marking them inside
``sittings/<id>/``, makes the public rule "only ``sittings/`` keys" exclude them by construction.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from sanarip.storage import PUBLIC_ROOT, LocalStorage, NotFound, Storage

URI_RE = re.compile(r"^[^#\s].*$", re.MULTILINE)
WORK_ROOT = "work"  # private working files: never under the public "sittings/"


def sitting_prefix(sitting_id: int) -> str:
    return f"{PUBLIC_ROOT}/{int(sitting_id)}"


def segment_key(sitting_id: int, seq: int) -> str:
    return f"{sitting_prefix(sitting_id)}/seg_{seq:05d}.ts"


def live_playlist_key(sitting_id: int) -> str:
    return f"{sitting_prefix(sitting_id)}/live.m3u8"


def vod_playlist_key(sitting_id: int) -> str:
    return f"{sitting_prefix(sitting_id)}/index.m3u8"


def edge_playlist_key(sitting_id: int) -> str:
    """The live media playlist players load: a sliding window of the newest segments."""
    return f"{sitting_prefix(sitting_id)}/edge.m3u8"


def main_playlist_key(sitting_id: int) -> str:
    """The multivariant playlist: the media playlist plus the subtitle rendition."""
    return f"{sitting_prefix(sitting_id)}/main.m3u8"


def poster_key(sitting_id: int) -> str:
    """The sitting's poster frame (JPEG): public, written once per sitting."""
    return f"{sitting_prefix(sitting_id)}/poster.jpg"


def working_prefix(sitting_id: int) -> str:
    """Where the sitting's private working files live (outside the public ``sittings/``)."""
    return f"{WORK_ROOT}/{sitting_prefix(sitting_id)}"


# The most seconds of audio in a chunk ingest writes for the live draft (``ingest.audiotap``: a
# chunk also ends where the source's audio pauses, at the end of an HLS source segment's burst).
# 1 s chunks instead of 2 s shortened the live draft's wait (issue 20's figures in the README),
# at a few small files a second per sitting.
AUDIO_CHUNK_SECONDS = 1.0


def audio_chunks_prefix(sitting_id: int) -> str:
    """What the key of every audio chunk of the sitting starts with."""
    return f"{working_prefix(sitting_id)}/audio/chunk_"


def audio_chunk_prefix(sitting_id: int, seq: int) -> str:
    """What every key of audio chunk ``seq`` starts with (list storage with it to find the chunk)."""
    return f"{audio_chunks_prefix(sitting_id)}{seq:06d}_"


def audio_chunk_key(sitting_id: int, seq: int, offset: float) -> str:
    """The key of audio chunk ``seq``, starting at media time ``offset`` seconds."""
    return f"{audio_chunk_prefix(sitting_id, seq)}{round(offset * 1000):012d}.wav"


def audio_chunk_offset(key: str) -> float:
    """The media-time offset (seconds) an audio chunk's key carries."""
    return int(key.rsplit("_", 1)[1].removesuffix(".wav")) / 1000


def final_pass_key(sitting_id: int, index: int) -> str:
    """The final pass's checkpoint of span ``index`` (its segments as JSON)."""
    return f"{working_prefix(sitting_id)}/final-pass/span_{index:05d}.json"


def delete_working_files(storage: Storage, sitting_id: int) -> int:
    """Delete the sitting's private working files (audio chunks, final-pass checkpoints); returns how many.

    Called once the final pass has stored the transcript: nothing reads them afterwards.
    """
    return storage.delete_prefix(working_prefix(sitting_id) + "/")


def current_playlist_key(storage: Storage, sitting_id: int) -> str:
    """The VOD playlist when finalized, else the live one; NotFound if neither exists."""
    for key in (vod_playlist_key(sitting_id), live_playlist_key(sitting_id)):
        if storage.exists(key):
            return key
    raise NotFound(f"sitting {sitting_id} has no recorded media")


def local_playlist(storage: Storage, sitting_id: int, workdir: Path | None = None) -> Path:
    """A local path to the sitting's playlist whose segments are readable next to it.

    Local storage is used in place; other backends are copied into ``workdir`` (a new temp
    folder by default), which the caller removes.
    """
    key = current_playlist_key(storage, sitting_id)
    if isinstance(storage, LocalStorage):
        return storage.path(key)
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"sanarip-{sitting_id}-"))
    text = storage.get_bytes(key).decode()
    prefix = sitting_prefix(sitting_id)
    for uri in URI_RE.findall(text):
        (workdir / uri).write_bytes(storage.get_bytes(f"{prefix}/{uri}"))
    out = workdir / Path(key).name
    out.write_text(text)
    return out


def build_playlist(segments: list, final: bool, uri=lambda seg: seg.path.rsplit("/", 1)[-1],
                   window: int | None = None, target: int | None = None) -> str:
    """An HLS media playlist for MediaSegment rows in order (gap rows mark discontinuities).

    ``final`` adds ``EXT-X-ENDLIST``: a VOD playlist, or the last reload of a window. Without it
    the playlist is an EVENT playlist that grows, or with ``window`` a sliding window of the
    newest ``window`` segments (a live player's reload costs the same at any sitting length;
    ``EXT-X-MEDIA-SEQUENCE`` and ``EXT-X-DISCONTINUITY-SEQUENCE`` count what slid out, and never
    go back, not even when the window ends). ``uri`` maps a segment to the URI written (relative
    file name by default; the web app passes presigned URLs for S3). ``target`` fixes
    EXT-X-TARGETDURATION.
    """
    media = [s for s in segments if not s.is_gap]
    target = target or max([int(s.duration + 0.999) for s in media] or [6])
    entries: list[tuple[bool, Any]] = []  # (discontinuity before it, segment)
    after_gap = False
    for seg in segments:
        if seg.is_gap:
            after_gap = True
            continue
        entries.append((bool(seg.discontinuity or after_gap) and bool(entries), seg))
        after_gap = False
    first = max(0, len(entries) - window) if window else 0
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    if first:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{sum(d for d, _ in entries[:first + 1])}")
    if not window:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{'VOD' if final else 'EVENT'}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for i, (discontinuity, seg) in enumerate(entries[first:]):
        if discontinuity and i:
            lines.append("#EXT-X-DISCONTINUITY")
        if seg.wall_clock_start is not None:
            stamp = seg.wall_clock_start.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        lines.append(f"#EXTINF:{seg.duration:.3f},")
        lines.append(uri(seg))
    if final:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
