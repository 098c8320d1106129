from pathlib import Path

import pytest

from sanarip.config import ConfigError, load_settings


def test_embedded_defaults(tmp_path):
    s = load_settings({"SANARIP_DATA_DIR": str(tmp_path)})
    assert s.search == "fts5" and s.model == "base" and s.timezone == "Asia/Bishkek"
    assert s.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'sanarip.db'}"
    assert s.effective_storage == str(tmp_path.resolve() / "media")
    assert not s.uses_elasticsearch


def test_environment_overrides_toml(tmp_path):
    (tmp_path / "sanarip.toml").write_text('model = "tiny.en"\nsearch = "http://es:9200"\njob_lease = 30\n')
    s = load_settings({"SANARIP_DATA_DIR": str(tmp_path), "SANARIP_MODEL": "small"})
    assert s.model == "small"
    assert s.search == "http://es:9200" and s.uses_elasticsearch
    assert s.job_lease == 30.0


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("SANARIP_SEARCH", "solr", "SANARIP_SEARCH"),
        ("SANARIP_DATABASE_URL", "mysql://x", "SANARIP_DATABASE_URL"),
        ("SANARIP_STORAGE", "s3://", "SANARIP_STORAGE"),
        ("SANARIP_STORAGE", "ftp://host/x", "SANARIP_STORAGE"),
        ("SANARIP_TIMEZONE", "Mars/Olympus", "SANARIP_TIMEZONE"),
        ("SANARIP_JOB_LEASE", "-3", "SANARIP_JOB_LEASE"),
        ("SANARIP_DEVICE", "tpu", "SANARIP_DEVICE"),
    ],
)
def test_bad_value_names_the_key(tmp_path, key, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings({"SANARIP_DATA_DIR": str(tmp_path), key: value})


def test_unknown_toml_key_and_missing_file(tmp_path):
    (tmp_path / "sanarip.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_settings({"SANARIP_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="no such file"):
        load_settings({"SANARIP_CONFIG": str(tmp_path / "nope.toml")})


def test_display_masks_secrets(tmp_path):
    s = load_settings({
        "SANARIP_DATA_DIR": str(tmp_path), "SANARIP_SECRET_KEY": "hunter2", "SANARIP_ES_PASSWORD": "pw",
        "SANARIP_DATABASE_URL": "postgresql://user:dbpass@db/sanarip",
    })
    shown = s.as_display_dict()
    assert "hunter2" not in str(shown) and "dbpass" not in str(shown) and "pw" != shown["es_password"]
    assert shown["database_url"] == "postgresql://user:********@db/sanarip"
    assert Path(shown["data_dir"]) == tmp_path
