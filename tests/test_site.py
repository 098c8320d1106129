"""Site files (favicon, robots.txt, sitemap), ?t= clock values and `config show`'s secret key."""

import xml.etree.ElementTree as ET

import pytest

from sanarip.config import load_settings
from tests.conftest import run_cli
from tests.seed import seed
from web import create_app


@pytest.fixture
def app(settings_env):
    app = create_app(load_settings({**settings_env, "SANARIP_BASE_URL": "https://sanarip.example.kg"}))
    app.config["ids"] = seed(app.extensions["sanarip"], b"\0" * 188)
    return app


def test_favicon_robots_and_sitemap(app):
    client, ids = app.test_client(), app.config["ids"]
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\0\0\1\0" and "Set-Cookie" not in icon.headers
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert "User-agent: *" in robots and "Sitemap: https://sanarip.example.kg/sitemap.xml" in robots
    assert "Disallow: /clerk" in robots
    resp = client.get("/sitemap.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text for e in ET.fromstring(resp.data).findall("sm:url/sm:loc", ns)]
    assert "https://sanarip.example.kg/" in locs and "https://sanarip.example.kg/c/budget" in locs
    assert f"https://sanarip.example.kg/s/{ids['sitting']}" in locs
    assert f"https://sanarip.example.kg/s/{ids['live']}" not in locs  # only the archive: live sittings change
    lastmods = [e.text for e in ET.fromstring(resp.data).findall("sm:url/sm:lastmod", ns)]
    assert lastmods and all(m.endswith("+06:00") for m in lastmods)


@pytest.mark.parametrize("t, start", [("65", "65.0"), ("1:05", "65.0"), ("1:02:03", "3723.0"), ("0:09.5", "9.5")])
def test_t_accepts_clock_values(app, t, start):
    html = app.test_client().get(f"/s/{app.config['ids']['sitting']}?t={t}").get_data(as_text=True)
    assert f'data-start="{start}"' in html


@pytest.mark.parametrize("t", ["1:65", "1::2", "1:2:3:4", "ab:cd"])
def test_t_refuses_bad_clock_values(app, t):
    assert app.test_client().get(f"/s/{app.config['ids']['sitting']}?t={t}").status_code == 400


def test_config_show_says_the_secret_key_is_set(settings_env, tmp_path):
    env = {k: v for k, v in settings_env.items() if k != "SANARIP_SECRET_KEY"}
    out = run_cli("config", "show", env=env).stdout
    assert "SANARIP_SECRET_KEY" in out and "generated into" in out
    create_app(load_settings(env))  # the web app generates the key file
    line = next(ln for ln in run_cli("config", "show", env=env).stdout.splitlines() if "SECRET_KEY" in ln)
    assert "set" in line and "********" in line
    assert (tmp_path / "data" / "secret_key").read_text() not in line
    shown = run_cli("config", "show", env={**env, "SANARIP_SECRET_KEY": "hunter2-long"}).stdout
    assert "hunter2" not in shown and "******** (set)" in shown
