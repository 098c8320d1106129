"""The ``sanarip`` command. It parses arguments and calls the packages; no domain logic here.

Heavy stages (ffmpeg helpers, faster-whisper, Elasticsearch) are imported inside commands,
so ``sanarip --help`` stays fast and never loads a model.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from sanarip.errors import SanaripError
from sanarip.runtime import Runtime

log = logging.getLogger("sanarip")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


class SanaripGroup(click.Group):
    """Turns expected errors into one line on stderr and exit status 1 (traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SanaripError as exc:
            if ctx.meta.get("sanarip.debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=SanaripGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Sanarip: committee livestreams turned into a searchable, citable public record."""
    ctx.meta["sanarip.debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "urllib3", "elastic_transport", "faster_whisper", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def runtime(ctx: click.Context | None = None) -> Runtime:
    """The process's Runtime, created on first use (settings errors surface here)."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if "sanarip.runtime" not in root.meta:
        root.meta["sanarip.runtime"] = Runtime()
        root.call_on_close(root.meta["sanarip.runtime"].close)
    return root.meta["sanarip.runtime"]


def ready_runtime() -> Runtime:
    """The Runtime with its database migrated to the latest schema."""
    rt = runtime()
    rt.db.upgrade()
    return rt


# --- init, config, db ---------------------------------------------------------------------
@cli.command()
def init() -> None:
    """Create the data directory, the database and the media folder."""
    rt = runtime()
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    rt.storage.check()
    click.echo(f"initialised {rt.settings.data_dir.resolve()}")


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True)
def config_show(as_json: bool) -> None:
    """Print the effective settings, secrets masked."""
    shown = runtime().settings.as_display_dict()
    if as_json:
        echo_json(shown)
        return
    width = max(map(len, shown))
    for key, value in shown.items():
        click.echo(f"SANARIP_{key.upper():<{width}}  {value}")


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    ready_runtime()
    click.echo("database is up to date")


# --- committees and sittings ---------------------------------------------------------------
@cli.group()
def committee() -> None:
    """Manage committees."""


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

    with ready_runtime().db.session() as s:
        configure_committee(s, get_committee(s, slug), stream_url=stream_url, fallback_language=fallback_language,
                            model=model)
    click.echo(f"updated committee {slug}")


@committee.command("list")
@click.option("--json", "as_json", is_flag=True)
def committee_list(as_json: bool) -> None:
    """List committees."""
    from sqlalchemy import select

    from sanarip.catalog import committee_dict
    from sanarip.models import Committee

    with ready_runtime().db.session(readonly=True) as s:
        rows = [committee_dict(c) for c in s.scalars(select(Committee).order_by(Committee.slug))]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['slug']:<24} {row['name']}  {row['stream_url'] or ''}".rstrip())


@cli.group()
def sitting() -> None:
    """Inspect sittings."""


@sitting.command("list")
@click.option("--committee", help="Only this committee's sittings.")
@click.option("--json", "as_json", is_flag=True)
def sitting_list(committee: str | None, as_json: bool) -> None:
    """List sittings, oldest first."""
    from sanarip.catalog import list_sittings, sitting_dict

    with ready_runtime().db.session(readonly=True) as s:
        rows = [sitting_dict(st) for st in list_sittings(s, committee)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        reason = f"  ({r['failure_reason']})" if r["failure_reason"] else ""
        click.echo(f"{r['id']:>5} {r['committee']:<16} {r['status']:<12} {r['duration']:>8.1f}s  {r['title']}{reason}")


# --- jobs and worker -------------------------------------------------------------------------
@cli.group()
def jobs() -> None:
    """Inspect and manage the job queue."""


@jobs.command("list")
@click.option("--status", help="Only jobs in this state (queued, running, done, dead, cancelled).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True)
def jobs_list(status: str | None, limit: int, as_json: bool) -> None:
    """List recent jobs, newest first."""
    from sqlalchemy import select

    from sanarip.models import Job

    with ready_runtime().db.session(readonly=True) as s:
        q = select(Job).order_by(Job.id.desc()).limit(limit)
        if status:
            q = q.where(Job.status == status)
        rows = [
            {"id": j.id, "kind": j.kind, "status": j.status, "attempts": j.attempts, "payload": j.payload,
             "worker": j.worker, "error": j.error, "progress": j.progress,
             "created_at": j.created_at.isoformat()}
            for j in s.scalars(q)
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        err = f"  {r['error'].splitlines()[0][:80]}" if r["error"] else ""
        payload = json.dumps(r["payload"], ensure_ascii=False)
        click.echo(f"{r['id']:>6} {r['kind']:<11} {r['status']:<9} try {r['attempts']}  {payload}{err}")


@jobs.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Queue a dead or cancelled job again."""
    ready_runtime().queue.retry(job_id)
    click.echo(f"job {job_id} queued")


@jobs.command("cancel")
@click.argument("job_id", type=int)
def jobs_cancel(job_id: int) -> None:
    """Cancel a queued or running job."""
    ready_runtime().queue.cancel(job_id)
    click.echo(f"job {job_id} cancelled")


@cli.command()
@click.option("--kinds", help="Comma-separated job kinds to run (default: all).")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Slots for short jobs (transcribe, index, import).")
@click.option("--long-slots", default=16, show_default=True, type=click.IntRange(0, 256),
              help="Extra slots for hours-long jobs (record, live).")
@click.option("--until-idle", is_flag=True, help="Exit when no job is left.")
def worker(kinds: str | None, concurrency: int, long_slots: int, until_idle: bool) -> None:
    """Run jobs until stopped (SIGTERM finishes or releases the current jobs)."""
    import worker as worker_module

    wanted = {k.strip() for k in kinds.split(",") if k.strip()} if kinds else None
    try:
        w = worker_module.Worker(runtime(), wanted, concurrency, long_slots)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--kinds") from None
    w.install_signal_handlers()
    w.run(until_idle=until_idle)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port (one per core).")
@click.option("--debug", "flask_debug", is_flag=True, help="Use Flask's development server.")
def serve(host: str, port: int, threads: int, processes: int, flask_debug: bool) -> None:
    """Serve the web front end (waitress)."""
    import socket

    import waitress

    from sanarip import procs
    from web import create_app

    settings = ready_runtime().settings
    if flask_debug:
        create_app(settings).run(host=host, port=port, debug=True)
        return
    def listen(share: bool) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:  # one socket per process: the kernel spreads connections across them
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise SanaripError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.listen(1024)
        return sock

    if processes > 1:
        listen(False).close()  # the port must be free: SO_REUSEPORT alone would share it with another server
    socks = [listen(processes > 1) for _ in range(processes)]
    click.echo(f"serving on http://{host}:{port}/ ({processes} process(es) x {threads} threads)", err=True)
    if processes == 1:
        waitress.serve(create_app(settings), sockets=socks, threads=threads, ident="sanarip")
        return

    def run(index: int) -> None:
        for i, other in enumerate(socks):
            if i != index:
                other.close()
        waitress.serve(create_app(settings), sockets=[socks[index]], threads=threads, ident="sanarip")

    # Each child keeps only its own socket, so a dead child's socket closes and gets no connections.
    procs.serve_forked(processes, run, after_fork=lambda: [sock.close() for sock in socks])


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="sanarip")


if __name__ == "__main__":
    main()


# --- ingest ------------------------------------------------------------------------------------
def _parse_until(value: str, tz) -> datetime:
    try:
        hh, mm = (int(x) for x in value.split(":"))
        now = datetime.now(tz)
        end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    except ValueError:
        raise click.BadParameter(f"expected HH:MM, got {value!r}", param_hint="--until") from None
    return end if end > now else end + timedelta(days=1)


def _parse_time(value: str, tz, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO time such as 2026-03-01T10:00, got {value!r}",
                                 param_hint=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


@cli.command()
@click.argument("source")
@click.option("--committee", required=True, help="Committee slug.")
@click.option("--title", default="", help="Sitting title.")
@click.option("--duration", type=click.FloatRange(min=1), help="Stop after this many seconds.")
@click.option("--until", "until", help="Stop at this local time (HH:MM, SANARIP_TIMEZONE).")
def record(source: str, committee: str, title: str, duration: float | None, until: str | None) -> None:
    """Record a livestream (HLS, RTMP, RTSP or HTTP URL) into a new sitting; prints its id."""
    import worker as worker_module
    from sanarip.catalog import get_committee, resolve_platform_url
    from sanarip.models import Sitting, utcnow

    if duration and until:
        raise click.UsageError("give --duration or --until, not both")
    rt = ready_runtime()
    source = resolve_platform_url(source)
    end_at = utcnow() + timedelta(seconds=duration) if duration else None
    if until:
        end_at = _parse_until(until, rt.settings.tz)
    with rt.db.session() as s:
        c = get_committee(s, committee)
        st = Sitting(committee_id=c.id, title=title, source_url=source, status="scheduled",
                     scheduled_start=utcnow(), scheduled_end=end_at)
        s.add(st)
        s.flush()
        sitting_id = st.id
    click.echo(sitting_id)
    worker_module.run_inline(rt, "record", {"sitting": sitting_id}, dedupe_key=f"record:{sitting_id}")
    with rt.db.session(readonly=True) as s:
        st = s.get(Sitting, sitting_id)
        click.echo(f"sitting {sitting_id}: {st.status}, {st.duration:.1f} s recorded", err=True)


@cli.command()
@click.argument("sitting_id", type=int)
def stop(sitting_id: int) -> None:
    """Ask the recorder of a live sitting to finish."""
    from sanarip.catalog import get_sitting

    with ready_runtime().db.session() as s:
        st = get_sitting(s, sitting_id)
        if st.status not in ("scheduled", "live"):
            raise SanaripError(f"sitting {sitting_id} is {st.status}, not live")
        st.stop_requested = True
    click.echo(f"sitting {sitting_id}: stop requested")


@cli.group()
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
    from sanarip.catalog import schedule_sitting

    rt = ready_runtime()
    tz = rt.settings.tz
    with rt.db.session() as s:
        sitting_id = schedule_sitting(s, committee, _parse_time(start, tz, "--start"), _parse_time(end, tz, "--end"),
                                      title, source)
    rt.queue.enqueue("record", {"sitting": sitting_id}, dedupe_key=f"record:{sitting_id}",
                     run_after=_parse_time(start, tz, "--start"))
    click.echo(sitting_id)


@cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--committee", required=True)
@click.option("--title", help="Sitting title (default: the file name).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Sitting date (default: file time).")
@click.option("--background", is_flag=True, help="Queue the work for workers and return at once.")
def import_(path, committee: str, title: str | None, day, background: bool) -> None:
    """Import recordings (a file or a folder): HLS, then transcription and indexing."""
    import worker as worker_module
    from ingest.importer import find_media, register

    rt = ready_runtime()
    for file in find_media(path):
        sitting_id, created = register(rt, file, committee, title, day.date() if day else None)
        click.echo(sitting_id)
        if not created:
            click.echo(f"{file}: already imported as sitting {sitting_id}", err=True)
            continue
        if background:
            rt.queue.enqueue("import", {"sitting": sitting_id}, dedupe_key=f"import:{sitting_id}")
            continue
        for kind in ("import", "transcribe", "index"):
            with _progress_bar(f"{kind} {file.name}") as on_progress:
                worker_module.run_inline(rt, kind, {"sitting": sitting_id}, f"{kind}:{sitting_id}", on_progress)


# --- transcription ------------------------------------------------------------------------------
@cli.command()
@click.argument("target")
@click.option("--model", help="tiny.en, base, small, or a CTranslate2 folder (default: SANARIP_MODEL).")
@click.option("--language", default="auto", show_default=True, help="auto, or a Whisper code (ru, en, kk …).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write here; the extension picks the format: .json .vtt .srt .txt .xml (Akoma Ntoso).")
def transcribe(target: str, model: str | None, language: str, output: str | None) -> None:
    """Transcribe a sitting (by id) or a media FILE (no database needed)."""
    from sanarip.stenogram import EXPORTERS, export

    fmt = "txt"
    if output:
        fmt = Path(output).suffix.lower().lstrip(".")
        if fmt not in EXPORTERS:
            raise click.BadParameter(f"unknown extension .{fmt}; use one of .{', .'.join(EXPORTERS)}",
                                     param_hint="--output")
    if target.isdigit():
        stenogram = _transcribe_sitting(int(target), model, language)
    else:
        stenogram = _transcribe_file(Path(target), model, language)
    text = export(stenogram, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _transcribe_file(path, model: str | None, language: str):
    from sanarip.stenogram import Stenogram
    from transcribe.engine import Options, decode, plan, transcribe_audio
    from transcribe.models import load_model

    if not path.is_file():
        raise SanaripError(f"no such file: {path} (give a sitting id or a media file)")
    settings = runtime().settings
    whisper = load_model(model or settings.model, settings.data_dir / "models", settings.device)
    try:
        audio = decode(str(path))
    except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds
        raise SanaripError(f"{path}: not readable media ({exc})") from None
    options = Options(language=language)
    spans = plan(whisper, audio, options)
    with _progress_bar(f"transcribe {path.name}") as on_progress:
        segments = transcribe_audio(whisper, audio, options, spans,
                                    on_span=lambda i, sp, _s: on_progress({"done": i + 1, "spans": sp}))
    return Stenogram(segments=segments, title=path.stem)


def _transcribe_sitting(sitting_id: int, model: str | None, language: str):
    import worker as worker_module
    from sanarip.catalog import get_sitting
    from sanarip.transcripts import public_stenogram

    rt = ready_runtime()
    with rt.db.session(readonly=True) as s:
        get_sitting(s, sitting_id)
    payload = {"sitting": sitting_id, "language": language, "model": model}
    with _progress_bar(f"transcribe sitting {sitting_id}") as on_progress:
        worker_module.run_inline(rt, "transcribe", payload, f"transcribe:{sitting_id}", on_progress)
    with rt.db.session(readonly=True) as s:
        return public_stenogram(s, get_sitting(s, sitting_id))


def _progress_bar(label: str):
    """A context manager yielding ``on_progress(progress)`` that drives a tqdm bar on stderr."""
    from contextlib import contextmanager

    from tqdm import tqdm

    @contextmanager
    def bar():
        with tqdm(desc=label, unit="step", file=sys.stderr, mininterval=0.5, leave=False) as t:
            def on_progress(p: dict) -> None:
                total = len(p["spans"]) if isinstance(p.get("spans"), list) else p.get("total")
                done = p.get("done", p.get("remuxed", p.get("indexed")))
                if total:
                    t.total = total
                if done is not None:
                    t.n = done
                    t.refresh()
            yield on_progress

    return bar()


# --- search -----------------------------------------------------------------------------------------
@cli.command("search")
@click.argument("query")
@click.option("--committee")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--speaker")
@click.option("--language")
@click.option("--official", is_flag=True, help="Only published (official) stenograms.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--page", type=click.IntRange(1, 500), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def search_cmd(query: str, committee, date_from, date_to, speaker, language, official, sort, page, as_json) -> None:
    """Search transcripts; each hit links to its moment: /s/<sitting>?t=<seconds>."""
    from html import unescape

    from search import Filters, open_index

    rt = ready_runtime()
    filters = Filters(committee=committee, date_from=date_from.date() if date_from else None,
                      date_to=date_to.date() if date_to else None, speaker=speaker, language=language,
                      official_only=official)
    index = open_index(rt.settings)
    try:
        result = index.search(query, filters, page=page, sort=sort)
    finally:
        index.close()
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(f"{result.total} hits (page {result.page} of {result.pages})")
    base = rt.settings.base_url.rstrip("/")
    for h in result.hits:
        text = unescape(h.snippet.replace("<mark>", "[").replace("</mark>", "]"))
        who = f"{h.speaker}: " if h.speaker else ""
        click.echo(f"{base}{h.link}  {h.committee} {h.day}  {who}{text}")


@cli.command()
def reindex() -> None:
    """Rebuild the search index from the database (Elasticsearch: a new index, then an alias swap)."""
    from tqdm import tqdm

    from search import open_index
    from search.documents import all_documents, count_segments

    rt = ready_runtime()
    index = open_index(rt.settings)
    with rt.db.session(readonly=True) as s, tqdm(total=count_segments(s), unit="seg", file=sys.stderr,
                                                 desc="reindex", disable=None) as bar:
        def progress(n: int) -> None:
            bar.n = n
            bar.refresh()

        count = index.rebuild(all_documents(s), progress=progress)
    index.close()
    click.echo(f"indexed {count} segments")


# --- accounts and persons -------------------------------------------------------------------------
@cli.group()
def user() -> None:
    """Clerk, editor and admin accounts."""


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise SanaripError("no password given on standard input")
    return line.rstrip("\r\n")


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["clerk", "editor", "admin"]), required=True)
def user_add(username: str, role: str) -> None:
    """Add a user; the password is prompted (or read as one line from a pipe)."""
    from sanarip.accounts import add_user

    password = _read_password()
    with ready_runtime().db.session() as s:
        add_user(s, username, password, role)
    click.echo(f"added {role} {username}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: their sessions and tokens stop working."""
    from sqlalchemy import select

    from sanarip.accounts import audit
    from sanarip.models import User

    with ready_runtime().db.session() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            raise SanaripError(f"no user {username!r}")
        u.active = False
        audit(s, None, "user.disable", {"username": username})
    click.echo(f"disabled {username}")


@cli.group()
def token() -> None:
    """API tokens for scripts (Authorization: Bearer …)."""


@token.command("create")
@click.argument("username")
def token_create(username: str) -> None:
    """Create an API token for USERNAME and print it (it is shown only once)."""
    from sanarip.accounts import create_token

    with ready_runtime().db.session() as s:
        click.echo(create_token(s, username))


@cli.group()
def person() -> None:
    """Persons (deputies, officials) who speak in sittings."""


@person.command("add")
@click.argument("name")
@click.option("--faction")
@click.option("--role")
def person_add(name: str, faction: str | None, role: str | None) -> None:
    """Add a person; prints their id."""
    from sanarip.models import Person

    if not name.strip():
        raise SanaripError("name must not be empty")
    with ready_runtime().db.session() as s:
        p = Person(name=" ".join(name.split()), faction=faction, role=role)
        s.add(p)
        s.flush()
        click.echo(p.id)
