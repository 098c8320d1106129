"""A real RTSP server for the tests: GStreamer's gst-rtsp-server looping an H.264 + AAC MP4.

Debian's ``python3-gi`` serves only the system interpreter, so this runs as its own process
under ``/usr/bin/python3`` (tests/services.py starts and stops it). The clip is remuxed, never
re-encoded; every client gets its own pipeline from the start of the clip, which plays in real
time and loops without end (segment seeks, so timestamps keep growing across the loop). Only
interleaved TCP transport is offered, as behind the firewalls the recorder meets. Prints
``READY <GStreamer version>`` once it listens; SIGTERM stops it.

    /usr/bin/python3 tests/rtsp_server.py --port 8554 --mount /sitting clip.mp4
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402 - versions first

Gst.init(None)  # before the subclass below: its vfunc signature needs GStreamer's types registered

LOOP_SEEK = Gst.SeekFlags.SEGMENT | Gst.SeekFlags.ACCURATE


class LoopingMedia(GstRtspServer.RTSPMedia):
    """A media whose pipeline seeks back to the start each time the clip's segment is done."""

    def do_handle_message(self, message: Gst.Message) -> bool:
        if message.type == Gst.MessageType.SEGMENT_DONE:
            self._seek(LOOP_SEEK)  # non-flushing: the running time continues past the loop
            return True
        return GstRtspServer.RTSPMedia.do_handle_message(self, message)

    def do_prepared(self) -> None:
        # A flushing segment seek at the start turns the clip's end into SEGMENT_DONE, not EOS.
        self._seek(Gst.SeekFlags.FLUSH | LOOP_SEEK)

    def _seek(self, flags: Gst.SeekFlags) -> None:
        demuxer = self.get_element().get_by_name("demux")  # seeks do not travel up through rtpbin
        if not demuxer.seek(1.0, Gst.Format.TIME, flags, Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1):
            print("rtsp_server: loop seek refused", file=sys.stderr, flush=True)


def serve(clip: Path, port: int, mount: str) -> None:
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    location = GLib.strescape(str(clip.resolve()))
    # SPS/PPS in band at every keyframe (config-interval=1; -1 splits access units for ffmpeg),
    # so each recorded segment decodes on its own.
    factory.set_launch(
        f'( filesrc location="{location}" ! qtdemux name=demux '
        "demux.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 "
        "demux.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )"
    )
    factory.set_media_gtype(LoopingMedia)
    factory.set_shared(False)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    server.get_mount_points().add_factory(mount, factory)
    if server.attach(None) == 0:
        sys.exit(f"rtsp_server: cannot listen on 127.0.0.1:{port}")
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"READY {Gst.version_string()}", flush=True)
    loop.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, help="an MP4 with one H.264 and one AAC stream")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="/sitting")
    args = parser.parse_args()
    if not args.clip.is_file():
        sys.exit(f"rtsp_server: no such clip: {args.clip}")
    serve(args.clip, args.port, args.mount)


if __name__ == "__main__":
    main()
