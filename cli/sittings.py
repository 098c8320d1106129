"""Committees, sittings and recording: ``committee``, ``sitting``, ``record``, ``stop``,
``schedule`` and ``import``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from cli.common import echo_json, parse_time, parse_until, ready_runtime, run_chain
from sanarip.languages import check_language
from sanarip.pipeline import JobKind


@click.group()
def committee() -> None:
    """Manage committees."""


def _check_fallback(code: str | None) -> None:
    """A fallback language is a transcription language: checked against the installed backends."""
    if code is not None and code != "none":
        from transcribe.languages import check_transcription_language

        check_transcription_language(code, "--fallback-language", allow_auto=False)


@committee.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@click.option("--stream-url", help="The committee's livestream (HLS, RTMP, RTSP or HTTP).")
@click.option("--language", default="ru", show_default=True, help="Main language of its sittings.")
@click.option("--name-ky", help="Name in Kyrgyz.")
@click.option("--name-ru", help="Name in Russian.")
@click.option("--name-en", help="Name in English.")
@click.option("--fallback-language", help="Whisper language for chunks detected unreliably (e.g. Kyrgyz speech).")
@click.option("--model", help="This committee's model: a registry name or a CTranslate2 folder.")
def committee_add(slug: str, name: str, stream_url: str | None, language: str, fallback_language: str | None,
                  model: str | None, **names: str | None) -> None:
    """Add a committee."""
    from sanarip.catalog import add_committee, configure_committee

    per_lang = {k.removeprefix("name_"): v for k, v in names.items() if v}
    check_language(language, "--language")
    _check_fallback(fallback_language)
    with ready_runtime().db.session() as s:
        c = add_committee(s, slug, name, stream_url, language, per_lang)
        configure_committee(s, c, fallback_language=fallback_language, model=model)
    click.echo(f"added committee {slug}")


@committee.command("set")
@click.argument("slug")
@click.option("--stream-url")
@click.option("--fallback-language", help="Whisper language for unreliable chunks; 'none' clears it.")
@click.option("--model", help="Registry name or CTranslate2 folder; 'none' clears it.")
def committee_set(slug: str, stream_url: str | None, fallback_language: str | None, model: str | None) -> None:
    """Change a committee's stream URL, fallback language or model."""
    from sanarip.catalog import configure_committee, get_committee

    _check_fallback(fallback_language)
    with ready_runtime().db.session() as s:
        configure_committee(s, get_committee(s, slug), stream_url=stream_url, fallback_language=fallback_language,
                            model=model)
    click.echo(f"updated committee {slug}")


@committee.command("list")
@click.option("--json", "as_json", is_flag=True)
def committee_list(as_json: bool) -> None:
    """List committees."""
    from sanarip.catalog import committee_dict, list_committees

    with ready_runtime().db.session(readonly=True) as s:
        rows = [committee_dict(c) for c in list_committees(s)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['slug']:<24} {row['name']}  {row['stream_url'] or ''}".rstrip())


@click.group()
def sitting() -> None:
    """Inspect sittings."""


@sitting.command("list")
@click.option("--committee", help="Only this committee's sittings.")
@click.option("--json", "as_json", is_flag=True)
def sitting_list(committee: str | None, as_json: bool) -> None:
    """List sittings, oldest first."""
    from sanarip.sittings import list_sittings, sitting_dict

    with ready_runtime().db.session(readonly=True) as s:
        rows = [sitting_dict(st) for st in list_sittings(s, committee)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        reason = f"  ({r['failure_reason']})" if r["failure_reason"] else ""
        click.echo(f"{r['id']:>5} {r['committee']:<16} {r['status']:<12} {r['duration']:>8.1f}s  {r['title']}{reason}")


@click.command()
@click.argument("source")
@click.option("--committee", required=True, help="Committee slug.")
@click.option("--title", default="", help="Sitting title.")
@click.option("--duration", type=click.FloatRange(min=1), help="Stop after this many seconds.")
@click.option("--until", "until", help="Stop at this local time (HH:MM, SANARIP_TIMEZONE).")
def record(source: str, committee: str, title: str, duration: float | None, until: str | None) -> None:
    """Record a livestream (HLS, RTMP, RTSP or HTTP URL) into a new sitting; prints its id."""
    import worker
    from sanarip.catalog import get_committee, resolve_platform_url
    from sanarip.models import utcnow
    from sanarip.sittings import create_sitting, get_sitting

    if duration and until:
        raise click.UsageError("give --duration or --until, not both")
    rt = ready_runtime()
    source = resolve_platform_url(source)
    end_at = utcnow() + timedelta(seconds=duration) if duration else None
    if until:
        end_at = parse_until(until, rt.settings.tz)
    with rt.db.session() as s:
        sitting_id = create_sitting(s, get_committee(s, committee), title=title, source_url=source,
                                    scheduled_start=utcnow(), scheduled_end=end_at).id
    click.echo(sitting_id)
    worker.run_inline(rt, JobKind.RECORD, {"sitting": sitting_id})
    with rt.db.session(readonly=True) as s:
        st = get_sitting(s, sitting_id)
        click.echo(f"sitting {sitting_id}: {st.status}, {st.duration:.1f} s recorded", err=True)


@click.command()
@click.argument("sitting_id", type=int)
def stop(sitting_id: int) -> None:
    """Ask the recorder of a live sitting to finish."""
    from sanarip.sittings import request_stop

    with ready_runtime().db.session() as s:
        request_stop(s, sitting_id)
    click.echo(f"sitting {sitting_id}: stop requested")


@click.group()
def schedule() -> None:
    """Scheduled sittings (recorded automatically by workers)."""


@schedule.command("add")
@click.option("--committee", required=True)
@click.option("--start", required=True, help="ISO time; without an offset it is in SANARIP_TIMEZONE.")
@click.option("--end", required=True, help="ISO time; without an offset it is in SANARIP_TIMEZONE.")
@click.option("--title", default="")
@click.option("--source", help="Stream URL (default: the committee's).")
def schedule_add(committee: str, start: str, end: str, title: str, source: str | None) -> None:
    """Schedule a sitting; a worker records it from START to END. Prints its id."""
    from sanarip.pipeline import RecordPayload
    from sanarip.sittings import schedule_sitting

    rt = ready_runtime()
    tz = rt.settings.tz
    starts_at = parse_time(start, tz, "--start")
    with rt.db.session() as s:
        sitting_id = schedule_sitting(s, committee, starts_at, parse_time(end, tz, "--end"), title, source).id
    rt.queue.submit(RecordPayload(sitting_id), run_after=starts_at)
    click.echo(sitting_id)


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--committee", required=True)
@click.option("--title", help="Sitting title (default: the file name).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Sitting date (default: file time).")
@click.option("--started-at", help="Wall-clock time of media second 0, ISO (supersedes --date).")
@click.option("--background", is_flag=True, help="Queue the work for workers and return at once.")
def import_(path, committee: str, title: str | None, day, started_at: str | None, background: bool) -> None:
    """Import recordings (a file or a folder): HLS, then transcription and indexing."""
    from ingest.importer import find_media, register
    from sanarip.pipeline import ImportPayload

    rt = ready_runtime()
    start = parse_time(started_at, rt.settings.tz, "--started-at") if started_at else None
    for file in find_media(path):
        sitting_id, created = register(rt, file, committee, title, day.date() if day else None, start)
        click.echo(sitting_id)
        if not created:
            click.echo(f"{file}: already imported as sitting {sitting_id}", err=True)
        elif background:
            rt.queue.submit(ImportPayload(sitting_id))
        else:
            run_chain(rt, JobKind.IMPORT, {"sitting": sitting_id}, file.name)


COMMANDS = [committee, sitting, record, stop, schedule, import_]
