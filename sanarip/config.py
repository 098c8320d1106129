"""Typed settings from ``SANARIP_*`` environment variables and an optional TOML file.

Precedence: environment variable > TOML file > embedded default. The TOML file is
``$SANARIP_CONFIG`` if set, else ``<data dir>/sanarip.toml`` when it exists; its keys are the
variable names without the ``SANARIP_`` prefix, in lower case (``search = "fts5"``).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_cache_path

from sanarip.errors import SanaripError

PREFIX = "SANARIP_"
SECRET_FIELDS = {"secret_key", "es_password", "metrics_token"}  # smtp_url: password masked below
ZERO_ALLOWED = {"trusted_proxies", "search_rate_limit", "api_rate_limit", "alert_digest_hour",
                "subscribe_rate_limit", "clip_rate_limit", "search_queue"}  # 0 means none / off


class ConfigError(SanaripError, ValueError):
    """A setting has a value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one Sanarip process."""

    data_dir: Path = Path("data")
    database_url: str = ""
    search: str = "fts5"
    es_user: str = ""
    es_password: str = ""
    es_ca: str = ""
    es_index_prefix: str = "sanarip"
    storage: str = ""
    s3_endpoint: str = ""
    model: str = "base"
    device: str = "auto"
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8080"
    timezone: str = "Asia/Bishkek"
    segment_seconds: float = 2.0
    transcribe_span_seconds: float = 600.0
    batch_size: str = "auto"  # speech chunks the final pass decodes together, or a number
    reconnect_grace: float = 120.0
    # Seconds a source that states no clock (no EXT-X-PROGRAM-DATE-TIME) lags the room; a segment's
    # wall clock is then its receive time minus this (an HLS source without one: a segment or more).
    source_delay: float = 0.0
    job_lease: float = 60.0
    job_max_attempts: int = 5
    # Who may scrape /metrics: client addresses or networks (comma-separated), or anyone who sends
    # ``Authorization: Bearer <metrics_token>`` when a token is set.
    metrics_allow: str = "127.0.0.0/8,::1"
    metrics_token: str = ""
    # Security: sessions, throttling, search cost, the database's lock wait.
    session_idle_hours: float = 12.0
    session_max_days: float = 7.0
    trusted_proxies: int = 0  # reverse-proxy hops whose X-Forwarded-For is believed (0: none)
    login_backoff_after: int = 5  # failures of one username before each attempt must wait 2^k s
    login_backoff_max: float = 900.0  # the longest such wait, seconds
    login_address_limit: int = 30  # failed logins per client address per hour
    search_rate_limit: int = 120  # searches per client address per minute (0: unlimited)
    api_rate_limit: int = 1200  # API requests per client address per minute (0: unlimited)
    search_budget: float = 1.0  # seconds one search may run before it is refused as too expensive
    search_concurrency: int = 2  # searches one server process runs at once (the rest wait briefly, then 503)
    search_queue: int = 8  # searches one server process lets wait for those (more: 503 at once)
    db_busy_timeout: float = 30.0  # seconds a SQLite writer waits for the lock before giving up (503)
    # Where models are assembled: <data dir>/models when a data dir is configured, else the per-user
    # cache folder (XDG), so `sanarip transcribe FILE` never fills the folder it runs in.
    model_cache: Path = Path()
    # Where browsers read public media (``sittings/…``) directly: nginx's alias of the media folder,
    # an S3 public-read prefix or a CDN origin (ending in "/"); empty: through the web app's /media/.
    public_media_url: str = ""
    # Alerts: where mail goes (smtp://host:port, smtps:// for implicit TLS, smtp+starttls://), who sends it.
    smtp_url: str = ""
    mail_from: str = "sanarip@localhost"
    alert_digest_hour: int = 8  # local hour (SANARIP_TIMEZONE) the daily digests go out
    alert_confirm_hours: float = 48.0  # a confirmation link works this long
    subscribe_rate_limit: int = 10  # subscription requests per client address per hour (0: unlimited)
    clip_rate_limit: int = 20  # new MP4 clips one client address may ask for per hour (0: unlimited)
    # Models per language (issue 22): "ky=/models/kyrgyz-ctc,…", CTC models in ONNX (transcribe/ctc.py).
    language_models: str = ""

    # Derived values --------------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sanarip.db').resolve()}"

    @property
    def effective_storage(self) -> str:
        return self.storage or str((self.data_dir / "media").resolve())

    @property
    def effective_model_cache(self) -> Path:
        return self.model_cache if self.model_cache != Path() else user_cache_path("sanarip") / "models"

    @property
    def uses_elasticsearch(self) -> bool:
        return self.search != "fts5"

    @property
    def metrics_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return parse_networks(self.metrics_allow)

    @property
    def language_model_paths(self) -> dict[str, Path]:
        return parse_language_models(self.language_models, "SANARIP_LANGUAGE_MODELS")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_display_dict(self) -> dict[str, str]:
        """All settings as strings, secrets masked, derived defaults filled in."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "******** (set)"
            out[f.name] = str(value)
        if not self.secret_key:  # the web app generates one into the data dir: say so rather than show it empty
            key_file = self.data_dir / "secret_key"
            out["secret_key"] = (f"******** (set, generated in {key_file})" if key_file.is_file()
                                 else f"(not set: generated into {key_file} when the web app starts)")
        out["database_url"] = _mask_url(self.effective_database_url)
        out["storage"] = self.effective_storage
        out["model_cache"] = str(self.effective_model_cache)
        out["smtp_url"] = _mask_url(self.smtp_url)
        return out


def parse_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``"127.0.0.0/8, ::1"`` → the networks (a bare address is a network of one)."""
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


CTC_FILES = ("model.onnx", "vocab.json")  # what a CTC model folder must hold (transcribe/ctc.py)


def ctc_folder_problem(path: Path) -> str | None:
    """Why ``path`` is not a CTC model folder, or None; a cheap check of the layout (no model load)."""
    if not path.is_dir():
        return f"{path} is not a folder"
    missing = [name for name in CTC_FILES if not (path / name).is_file()]
    if missing:
        return f"{path} has no {' or '.join(missing)} (expected an optimum-cli export of a Wav2Vec2ForCTC model)"
    return None


def parse_language_models(text: str, key: str) -> dict[str, Path]:
    """``"ky=/models/kyrgyz-ctc, …"`` → {"ky": Path}; ConfigError (one line, naming ``key``) on a bad pair
    or a broken folder, so a misconfigured model fails when the setting is read, not mid-sitting."""
    out: dict[str, Path] = {}
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        lang, sep, folder = (x.strip() for x in pair.partition("="))
        if not sep or not re.fullmatch(r"[a-z]{2,3}", lang) or not folder:
            raise ConfigError(f"{key}: expected lang=PATH pairs such as ky=/models/kyrgyz-ctc, got {pair!r}")
        path = Path(folder).expanduser()
        problem = ctc_folder_problem(path)
        if problem:
            raise ConfigError(f"{key}: model for {lang!r}: {problem}")
        out[lang] = path
    return out


def _mask_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":********@")
    return url


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    key = PREFIX + name.upper()
    try:
        if kind in (float, "float"):
            value = float(raw)
            if value <= 0:
                raise ValueError
            return value
        if kind in (int, "int"):
            value = int(raw)
            if value < 0 or (value == 0 and name not in ZERO_ALLOWED):
                raise ValueError
            return value
        if kind in (Path, "Path"):
            return Path(str(raw)).expanduser()
    except (TypeError, ValueError):
        least = "a number ≥ 0" if name in ZERO_ALLOWED else "a positive number"
        raise ConfigError(f"{key}: expected {least}, got {raw!r}") from None
    return str(raw)


def _validate(s: Settings) -> None:
    if s.search != "fts5" and urlparse(s.search).scheme not in ("http", "https"):
        raise ConfigError(f"SANARIP_SEARCH: must be 'fts5' or an http(s):// Elasticsearch URL, got {s.search!r}")
    if s.database_url and not s.database_url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(
            f"SANARIP_DATABASE_URL: must start with sqlite: or postgresql, got {_mask_url(s.database_url)!r}"
        )
    if s.storage.startswith("s3:"):
        parsed = urlparse(s.storage)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"SANARIP_STORAGE: expected s3://bucket/prefix, got {s.storage!r}")
    elif "://" in s.storage:
        raise ConfigError(f"SANARIP_STORAGE: must be a folder or s3://bucket/prefix, got {s.storage!r}")
    if s.batch_size != "auto" and not (s.batch_size.isdigit() and 0 < int(s.batch_size) <= 256):
        raise ConfigError(f"SANARIP_BATCH_SIZE: must be auto or a number from 1 to 256, got {s.batch_size!r}")
    if s.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"SANARIP_DEVICE: must be auto, cpu or cuda, got {s.device!r}")
    if urlparse(s.base_url).scheme not in ("http", "https"):
        raise ConfigError(f"SANARIP_BASE_URL: must be an http(s) URL, got {s.base_url!r}")
    try:
        parse_networks(s.metrics_allow)
    except ValueError as exc:
        raise ConfigError(f"SANARIP_METRICS_ALLOW: expected addresses or networks such as 10.0.0.0/8, {exc}") from None
    if s.smtp_url and urlparse(s.smtp_url).scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ConfigError(f"SANARIP_SMTP_URL: expected smtp://host:port, smtps://… or smtp+starttls://…, "
                          f"got {_mask_url(s.smtp_url)!r}")
    if s.alert_digest_hour > 23:
        raise ConfigError(f"SANARIP_ALERT_DIGEST_HOUR: must be an hour from 0 to 23, got {s.alert_digest_hour}")
    if "@" not in s.mail_from:
        raise ConfigError(f"SANARIP_MAIL_FROM: must be an e-mail address, got {s.mail_from!r}")
    parse_language_models(s.language_models, "SANARIP_LANGUAGE_MODELS")
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SANARIP_TIMEZONE: unknown time zone {s.timezone!r}") from None


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``env`` (default ``os.environ``), the TOML file and ``overrides``."""
    env = dict(os.environ if env is None else env)
    known = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}

    data_dir = Path(env.get(PREFIX + "DATA_DIR", overrides.get("data_dir", "data"))).expanduser()
    toml_path = env.get(PREFIX + "CONFIG") or str(data_dir / "sanarip.toml")
    if Path(toml_path).is_file():
        try:
            table = tomllib.loads(Path(toml_path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"SANARIP_CONFIG: {toml_path} is not valid TOML: {exc}") from None
        for name, raw in table.items():
            if name not in known:
                raise ConfigError(f"SANARIP_CONFIG: unknown key {name!r} in {toml_path}")
            values[name] = raw
    elif PREFIX + "CONFIG" in env:
        raise ConfigError(f"SANARIP_CONFIG: no such file {toml_path}")

    for name in known:
        if PREFIX + name.upper() in env:
            values[name] = env[PREFIX + name.upper()]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "model_cache" not in values and "data_dir" in values:  # a configured data dir keeps its models
        values["model_cache"] = Path(str(values["data_dir"])).expanduser() / "models"
    settings = Settings(**{name: _coerce(name, raw, known[name]) for name, raw in values.items()})
    _validate(settings)
    return settings

