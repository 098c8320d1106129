#!/usr/bin/env bash
# Debian packages the test suite drives for real: PostgreSQL (throwaway cluster), Chromium
# (Playwright, never its own browser download), wrk (web benchmark), GStreamer's RTSP server.
# Installed only if missing.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# GStreamer's RTSP server (tests/rtsp_server.py, run by the system python3) and the elements it
# serves an MP4 with: qtdemux, h264parse, aacparse, the RTP payloaders.
/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" >/dev/null 2>&1 \
  || need+=(python3-gi gir1.2-gst-rtsp-server-1.0)
for plugins in base good bad; do
  dpkg-query -W -f='${Status}' "gstreamer1.0-plugins-$plugins" 2>/dev/null | grep -q "ok installed" \
    || need+=("gstreamer1.0-plugins-$plugins")
done
command -v ffmpeg >/dev/null 2>&1 || true   # not needed: imageio-ffmpeg's binary is the fallback
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
