"""``person``: the deputies and officials who speak in sittings."""

from __future__ import annotations

import click

from cli.common import ready_runtime


@click.group()
def person() -> None:
    """Persons (deputies, officials) who speak in sittings."""


@person.command("add")
@click.argument("name")
@click.option("--faction")
@click.option("--role")
def person_add(name: str, faction: str | None, role: str | None) -> None:
    """Add a person; prints their id."""
    from sanarip.catalog import add_person

    with ready_runtime().db.session() as s:
        click.echo(add_person(s, name, faction, role).id)


COMMANDS = [person]
