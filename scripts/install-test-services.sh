#!/usr/bin/env bash
# Debian packages the test suite drives for real: PostgreSQL (throwaway cluster), Chromium
# (Playwright, never its own browser download), wrk (web benchmark), GStreamer's RTSP server.
# Installed only if missing. Then versitygw, the S3 server (below).
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

# versitygw, the S3 server of the storage tests (Go, built from the module proxy into a cache that
# survives between runs, like Maven's ~/.m2; the build takes minutes, so only when missing).
VERSITYGW_VERSION=v1.8.0
VERSITYGW_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/sanarip/versitygw-$VERSITYGW_VERSION"
if [ ! -x "$VERSITYGW_BIN/versitygw" ]; then
  command -v go >/dev/null 2>&1 || { echo "Go is needed to build versitygw (apt-get install golang)" >&2; exit 1; }
  # The version is stamped as versitygw's own Makefile does, so `versitygw --version` names it.
  GOBIN="$VERSITYGW_BIN" go install -ldflags "-X main.Version=$VERSITYGW_VERSION" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi
