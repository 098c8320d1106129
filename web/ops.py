"""Operations: ``/healthz`` and Prometheus ``/metrics`` (prometheus_client).

The gauges are computed from the database at scrape time by a custom collector. With
PROMETHEUS_MULTIPROC_DIR set (several server processes), the per-process request counter is
summed over every process through prometheus_client's multiprocess mode.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from ipaddress import ip_address

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import gettext as _
from prometheus_client import CollectorRegistry, Counter, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from sanarip.db import Database
from sanarip.errors import SanaripError
from sanarip.models import Job, MediaSegment, Sitting, TranscriptSegment, utcnow
from sanarip.sittings import SittingStatus
from web.deps import runtime, search_index

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz():
    rt = runtime()
    checks: dict[str, str] = {}
    for name, check in (("database", rt.db.check), ("storage", rt.storage.check),
                        ("search", lambda: search_index().check())):
        try:
            check()
            checks[name] = "ok"
        except SanaripError as exc:
            checks[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
            checks[name] = f"{type(exc).__name__}: {exc}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify({"ok": ok, "checks": checks}), 200 if ok else 503


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Per process: in multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before start-up) prometheus_client
# keeps its value in a file of that folder, and MultiProcessCollector adds up every process's.
disable_created_metrics()  # no *_created series beside the counter
REQUESTS = Counter("sanarip_http_requests", "HTTP responses by method and status.", ["method", "status"],
                   registry=None)


class DatabaseCollector(Collector):
    """The DB-derived gauges, read when scraped: they are the same whichever process answers,
    so they are never stored per process."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("sanarip_jobs", "Jobs by kind and state.", labels=["kind", "state"]),
            GaugeMetricFamily("sanarip_sittings", "Sittings by status (failed recordings included).",
                              labels=["status"]),
            GaugeMetricFamily("sanarip_recording_lag_seconds", "Seconds since the newest segment of a live sitting "
                              "ended.", labels=["sitting"]),
            GaugeMetricFamily("sanarip_transcription_lag_seconds", "Recorded media time not yet transcribed (live).",
                              labels=["sitting"]),
        )

    def describe(self) -> Iterator[Metric]:
        """The names without a database query (registration checks them for duplicates)."""
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        jobs, sittings, recording, transcription = self._families()
        now = utcnow()
        with self.db.session(readonly=True) as s:
            for kind, status, n in s.execute(select(Job.kind, Job.status, func.count())
                                             .group_by(Job.kind, Job.status)):
                jobs.add_metric([kind, status], n)
            for status, n in s.execute(select(Sitting.status, func.count()).group_by(Sitting.status)):
                sittings.add_metric([status], n)
            for sitting in s.scalars(select(Sitting).where(Sitting.status == SittingStatus.LIVE)):
                of = MediaSegment.sitting_id == sitting.id
                last = s.scalar(select(func.max(MediaSegment.wall_clock_end)).where(of))
                media = s.scalar(select(func.sum(MediaSegment.duration)).where(of)) or 0
                said = s.scalar(select(func.max(TranscriptSegment.end))
                                .where(TranscriptSegment.sitting_id == sitting.id))
                if last is not None:
                    recording.add_metric([str(sitting.id)], round((now - last).total_seconds(), 3))
                transcription.add_metric([str(sitting.id)], round(max(0.0, media - (said or 0.0)), 3))
        yield from (jobs, sittings, recording, transcription)


def metrics_registry(db: Database) -> CollectorRegistry:
    """What /metrics shows: the DB gauges, and the request counter of this process or of all."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(db))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
    return registry


@bp.record_once
def _set_up(state) -> None:
    state.app.extensions["metrics"] = metrics_registry(state.app.extensions["sanarip"].db)


@bp.after_app_request
def _count(response: Response) -> Response:
    REQUESTS.labels(request.method if request.method in HTTP_METHODS else "other", str(response.status_code)).inc()
    return response


def metrics_allowed() -> bool:
    """A client address in SANARIP_METRICS_ALLOW, or the bearer token SANARIP_METRICS_TOKEN."""
    settings = runtime().settings
    if settings.metrics_token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    try:
        addr = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(addr in net for net in settings.metrics_networks)


def guard_metrics() -> Response | None:
    """Runs before the user lookup: /metrics is for the scraper, whose bearer token is not an API
    token; a client it does not allow gets 403 and never the job and sitting figures."""
    if request.endpoint != "ops.metrics":
        return None
    if not metrics_allowed():
        abort(403, _("Metrics are only for the configured scrapers (SANARIP_METRICS_ALLOW / SANARIP_METRICS_TOKEN)."))
    return metrics()


@bp.route("/metrics")
def metrics():
    """Text format 0.0.4 as before, unless the scraper asks for a newer one (or OpenMetrics)."""
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(current_app.extensions["metrics"]), content_type=content_type)
