"""``jobs`` and ``worker``: the job queue and the process that runs it."""

from __future__ import annotations

import json

import click

from cli.common import echo_json, ready_runtime, runtime


@click.group()
def jobs() -> None:
    """Inspect and manage the job queue."""


@jobs.command("list")
@click.option("--status", help="Only jobs in this state (queued, running, done, dead, cancelled).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True)
def jobs_list(status: str | None, limit: int, as_json: bool) -> None:
    """List recent jobs, newest first."""
    rows = ready_runtime().queue.recent(status, limit)
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


@click.command()
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


COMMANDS = [jobs, worker]
