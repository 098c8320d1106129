"""``person``: the deputies and officials who speak in sittings."""

from __future__ import annotations

import click

from cli.common import echo_json, ready_runtime


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


@person.command("list")
@click.option("--json", "as_json", is_flag=True)
def person_list(as_json: bool) -> None:
    """List persons: id, name, faction, role."""
    from sanarip.catalog import list_persons, person_dict

    with ready_runtime().db.session(readonly=True) as s:
        rows = [person_dict(p) for p in list_persons(s)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']:>5} {r['name']:<32} {r.get('faction') or '-':<20} {r.get('role') or '-'}")


COMMANDS = [person]
