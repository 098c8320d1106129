"""Language codes checked everywhere, in one line; models cached per user; a text file is not media."""

import subprocess
import sys
from pathlib import Path

import pytest

from sanarip.config import load_settings
from tests.conftest import run_cli

SANARIP = str(Path(sys.executable).parent / "sanarip")


def _bare_env(settings_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A newcomer's environment: no data dir configured, the per-user cache under ``tmp_path``."""
    env = {k: v for k, v in settings_env.items() if k != "SANARIP_DATA_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


@pytest.mark.parametrize("code, says", [("ky", "no Kyrgyz transcription model"), ("xx", "unknown language code"),
                                        ("ab", "not a language Whisper transcribes")])
def test_transcribe_language_is_checked_in_one_line(tmp_path, settings_env, code, says):
    media = tmp_path / "speech.wav"
    media.write_bytes(b"RIFF")
    proc = subprocess.run([SANARIP, "transcribe", str(media), "--language", code], cwd=tmp_path,
                          env=_bare_env(settings_env, tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr and "Traceback" not in proc.stderr
    assert "auto" in proc.stderr  # names the options
    assert not (tmp_path / "cache").exists() and not (tmp_path / "data").exists()


def test_text_file_fails_before_any_model_loads(tmp_path, settings_env):
    notes = tmp_path / "notes.txt"
    notes.write_text("Повестка дня: бюджет.\n", encoding="utf-8")
    proc = subprocess.run([SANARIP, "transcribe", str(notes), "--language", "ru"], cwd=tmp_path,
                          env=_bare_env(settings_env, tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "not readable media" in proc.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "data").exists()  # no model was assembled


def test_models_live_in_the_user_cache_unless_a_data_dir_is_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bare = load_settings({})
    assert bare.effective_model_cache == tmp_path / "cache" / "sanarip" / "models"
    assert load_settings({"SANARIP_DATA_DIR": str(tmp_path / "d")}).effective_model_cache == tmp_path / "d" / "models"
    assert load_settings({"SANARIP_MODEL_CACHE": str(tmp_path / "m")}).effective_model_cache == tmp_path / "m"


def test_committee_languages_are_checked(settings_env):
    run_cli("committee", "add", "kyrgyz", "--name", "Kyrgyz committee", "--language", "ky", env=settings_env)
    for args, says in [(["committee", "add", "bad", "--name", "B", "--language", "zz"], "--language"),
                       (["committee", "add", "bad", "--name", "B", "--fallback-language", "qq"], "--fallback-language"),
                       (["committee", "set", "kyrgyz", "--fallback-language", "ky"], "no Kyrgyz transcription model"),
                       (["search", "бюджет", "--language", "Russian"], "--language")]:
        proc = run_cli(*args, env=settings_env, check=False)
        assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert says in proc.stderr
    run_cli("committee", "set", "kyrgyz", "--fallback-language", "kk", env=settings_env)
    assert "bad" not in run_cli("committee", "list", env=settings_env).stdout


def test_track_srclang_is_the_transcripts_language(settings_env):
    from tests.seed import seed
    from web import create_app

    app = create_app(load_settings(settings_env))
    ids = seed(app.extensions["sanarip"], b"\0" * 188)
    html = app.test_client().get(f"/s/{ids['sitting']}", headers={"Accept-Language": "ky"}).get_data(as_text=True)
    assert 'srclang="ru"' in html and 'srclang="ky"' not in html


def test_search_page_language_filter_is_checked(settings_env):
    from web import create_app

    client = create_app(load_settings(settings_env)).test_client()
    assert client.get("/api/v1/search?q=бюджет&language=Russian").status_code == 400
    assert client.get("/api/v1/search?q=бюджет&language=ky").status_code == 200
