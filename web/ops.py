"""Operations: ``/healthz`` and Prometheus ``/metrics``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select

from sanarip.errors import SanaripError
from sanarip.models import Job, MediaSegment, Sitting, TranscriptSegment, utcnow
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


def _line(name: str, value: float, **labels: str) -> str:
    if labels:
        inner = ",".join(f'{k}="{str(v).replace(chr(34), "")}"' for k, v in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


@bp.route("/metrics")
def metrics():
    now = utcnow()
    out = [
        "# HELP sanarip_jobs Jobs by kind and state.", "# TYPE sanarip_jobs gauge",
    ]
    with runtime().db.session(readonly=True) as s:
        for kind, status, n in s.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
            out.append(_line("sanarip_jobs", n, kind=kind, state=status))
        out += ["# HELP sanarip_sittings Sittings by status (failed recordings included).",
                "# TYPE sanarip_sittings gauge"]
        for status, n in s.execute(select(Sitting.status, func.count()).group_by(Sitting.status)):
            out.append(_line("sanarip_sittings", n, status=status))
        out += ["# HELP sanarip_recording_lag_seconds Seconds since the newest segment of a live sitting ended.",
                "# TYPE sanarip_recording_lag_seconds gauge",
                "# HELP sanarip_transcription_lag_seconds Recorded media time not yet transcribed (live).",
                "# TYPE sanarip_transcription_lag_seconds gauge"]
        for sitting in s.scalars(select(Sitting).where(Sitting.status == "live")):
            last = s.scalar(select(func.max(MediaSegment.wall_clock_end)).where(MediaSegment.sitting_id == sitting.id))
            media = s.scalar(select(func.sum(MediaSegment.duration)).where(MediaSegment.sitting_id == sitting.id)) or 0
            said = s.scalar(select(func.max(TranscriptSegment.end)).where(TranscriptSegment.sitting_id == sitting.id))
            if last is not None:
                out.append(_line("sanarip_recording_lag_seconds", round((now - last).total_seconds(), 3),
                                 sitting=str(sitting.id)))
            out.append(_line("sanarip_transcription_lag_seconds", round(max(0.0, media - (said or 0.0)), 3),
                             sitting=str(sitting.id)))
    return Response("\n".join(out) + "\n", mimetype="text/plain; version=0.0.4")
