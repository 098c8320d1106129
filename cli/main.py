"""The ``sanarip`` root group: global options, error reporting, and every area's commands."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from cli import accounts, jobs, people, record, searching, serving, sittings, transcription
from cli.common import echo_json, ready_runtime, runtime
from sanarip.errors import SanaripError


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


for area in (sittings, jobs, transcription, searching, accounts, people, record, serving):
    for command in area.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="sanarip")
