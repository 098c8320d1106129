"""nginx in front of the app for bench/live.py: the README's documented deployment.

nginx serves ``<media>/sittings/`` itself (its worker processes run as ``www-data`` when the
bench runs as root, so a public file the storage wrote unreadable answers 403 and shows up
as errors), with the README's Cache-Control table and ETags, and proxies everything else to
gunicorn. None when nginx is not installed: the bench then says the app served the media.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sanarip.cachepolicy import IMMUTABLE, SHORT

CONF = """\
{user}worker_processes 2;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream app {{ server 127.0.0.1:{app_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /media/sittings/ {{
            alias {media}/sittings/;
            etag on;
            location ~ \\.(m3u8|json)$ {{ add_header Cache-Control "{short}"; }}
            location ~ \\.(ts|vtt)$    {{ add_header Cache-Control "{immutable}"; }}
            types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; text/vtt vtt; application/json json; }}
        }}
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def start_nginx(run: Path, port: int, app_port: int, media: Path) -> subprocess.Popen | None:
    """Start nginx on 127.0.0.1:``port``; None when there is no nginx binary."""
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        return None
    run.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    conf = run / "nginx.conf"
    conf.write_text(CONF.format(user="user www-data;\n" if as_root else "", run=run, port=port, app_port=app_port,
                                media=media, short=SHORT, immutable=IMMUTABLE))
    if as_root:  # the workers (www-data) write their temp folders
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (run / name).mkdir(exist_ok=True)
            shutil.chown(run / name, "www-data")
    return subprocess.Popen([exe, "-c", str(conf), "-p", str(run)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
