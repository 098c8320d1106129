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
@click.option("--languages", help="Languages its sittings use, e.g. ky,ru,en (the default); 'default' resets.")
@click.option("--language-model", "language_models", multiple=True, metavar="LANG=PATH",
              help="A CTC model folder for a language, e.g. ky=/models/kyrgyz-ctc (repeatable; LANG=none removes).")
def committee_set(slug: str, stream_url: str | None, fallback_language: str | None, model: str | None,
                  languages: str | None, language_models: tuple[str, ...]) -> None:
    """Change a committee's stream URL, fallback language, model, languages or language models."""
    from sanarip.catalog import configure_committee, get_committee
    from sanarip.committeelanguages import set_language_models, set_languages

    _check_fallback(fallback_language)
    with ready_runtime().db.session() as s:
        c = get_committee(s, slug)
        configure_committee(s, c, stream_url=stream_url, fallback_language=fallback_language, model=model)
        if languages is not None:
            set_languages(c, languages)
        if language_models:
            models = set_language_models(s, c, language_models)
            _check_loads(models)
    click.echo(f"updated committee {slug}")


def _check_loads(models: dict[str, str]) -> None:
    """Load each new model once, so a folder that is not a usable model fails now, not mid-sitting."""
    from sanarip.errors import SanaripError
    from transcribe.ctc import CtcModelError, load_ctc_uncached

    for lang, path in models.items():
        try:
            load_ctc_uncached(Path(path), "cpu")
        except CtcModelError as exc:
            raise SanaripError(f"--language-model {lang}: {exc}") from None


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


@sitting.command("show")
@click.argument("sitting_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def sitting_show(sitting_id: int, as_json: bool) -> None:
    """One sitting: status, times (SANARIP_TIMEZONE), source, transcript lines, publications, active jobs."""
    from sanarip.sittings import sitting_details

    with ready_runtime().db.session(readonly=True) as s:
        info = sitting_details(s, sitting_id)
    if as_json:
        echo_json(info)
        return
    for key, value in info.items():
        if key == "active_jobs":
            value = ", ".join(f"{j['kind']} #{j['id']} ({j['status']})" for j in value) or "none"
        click.echo(f"{key:<16} {'-' if value is None else value}")


@sitting.command("delete")
@click.argument("sitting_id", type=int)
@click.option("--yes", is_flag=True, help="Really delete: media, transcript, publications and index entries.")
def sitting_delete(sitting_id: int, yes: bool) -> None:
    """Delete a sitting for good (its media, transcript, publications and search entries)."""
    from sanarip.errors import SanaripError
    from sanarip.removal import delete_sitting
    from sanarip.sittings import get_sitting
    from search import open_index

    rt = ready_runtime()
    with rt.db.session(readonly=True) as s:
        title = get_sitting(s, sitting_id).title
    if not yes:
        raise SanaripError(f"sitting {sitting_id} ({title or 'untitled'}) would be deleted with its media, transcript "
                           "and publications; add --yes to do it")
    gone = delete_sitting(rt, sitting_id)
    index = open_index(rt.settings)
    try:
        index.replace_sitting(sitting_id, [])
    finally:
        index.close()
    click.echo(f"deleted sitting {sitting_id}: {gone['files']} files, {gone['jobs']} jobs cancelled, "
               "index entries removed")


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
    """End a live sitting's recording (at once when no worker is recording it)."""
    from ingest.orphans import stop_recording

    click.echo(f"sitting {sitting_id}: {stop_recording(ready_runtime(), sitting_id)}")


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


@schedule.command("list")
@click.option("--committee", help="Only this committee's.")
@click.option("--json", "as_json", is_flag=True)
def schedule_list(committee: str | None, as_json: bool) -> None:
    """Sittings waiting to be recorded, soonest first (times in SANARIP_TIMEZONE)."""
    from sanarip.clock import local_label
    from sanarip.sittings import scheduled_sittings, sitting_dict

    with ready_runtime().db.session(readonly=True) as s:
        rows = scheduled_sittings(s, committee)
        shown = [(sitting_dict(st), local_label(st.scheduled_start), local_label(st.scheduled_end)) for st in rows]
    if as_json:
        echo_json([d for d, _, _ in shown])
        return
    for d, start, end in shown:
        click.echo(f"{d['id']:>5} {d['committee']:<16} {start or '-':<16} → {end or '-':<16} {d['title']}".rstrip())


@schedule.command("cancel")
@click.argument("sitting_id", type=int)
def schedule_cancel(sitting_id: int) -> None:
    """Cancel a scheduled sitting that has not started: its recording job and the sitting go."""
    from sanarip.errors import SanaripError
    from sanarip.removal import delete_sitting
    from sanarip.sittings import SittingStatus, get_sitting

    rt = ready_runtime()
    with rt.db.session(readonly=True) as s:
        status = get_sitting(s, sitting_id).status
    if status != SittingStatus.SCHEDULED:
        raise SanaripError(f"sitting {sitting_id} is {status}, not scheduled; "
                           f"use `sanarip stop {sitting_id}` or `sanarip sitting delete {sitting_id} --yes`")
    delete_sitting(rt, sitting_id)
    click.echo(f"cancelled sitting {sitting_id}")


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
