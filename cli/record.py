"""``popolo``, ``agenda`` and ``votes``: the structure of the parliamentary record, from JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.common import echo_json, ready_runtime
from sanarip.errors import SanaripError


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SanaripError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SanaripError(f"{path} is not JSON: {exc}") from None


@click.group()
def popolo() -> None:
    """Deputies, factions and committees as Popolo data."""


@popolo.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def popolo_import(file: Path) -> None:
    """Load a Popolo JSON document (persons, organizations, posts, memberships); all or nothing."""
    from sanarip.popolo import import_popolo

    doc = _load(file)
    with ready_runtime().db.session() as s:
        report = import_popolo(s, doc)
    for line in report.lines():
        click.echo(line)


@popolo.command("export")
@click.option("--sitting", "sitting_id", type=int, help="Only one sitting's voters, speakers and vote events.")
def popolo_export(sitting_id: int | None) -> None:
    """Print the Popolo document that /api/v1/popolo.json serves."""
    from sanarip.popolo import popolo_document

    with ready_runtime().db.session(readonly=True) as s:
        echo_json(popolo_document(s, sitting_id))


@click.group()
def agenda() -> None:
    """A sitting's agenda items."""


@agenda.command("import")
@click.argument("sitting_id", type=int)
@click.argument("file", type=click.Path(path_type=Path))
def agenda_import(sitting_id: int, file: Path) -> None:
    """Replace the sitting's agenda with FILE's JSON list of items."""
    from sanarip.agenda import replace_agenda

    records = _load(file)
    rt = ready_runtime()
    with rt.db.session() as s:
        rows = replace_agenda(s, sitting_id, records, rt.settings.tz)
    rt.indexer.sitting_changed(sitting_id)
    click.echo(f"sitting {sitting_id}: {len(rows)} agenda items")


@click.group()
def votes() -> None:
    """Vote events (Popolo motions, counts and votes per person)."""


@votes.command("import")
@click.argument("sitting_id", type=int)
@click.argument("file", type=click.Path(path_type=Path))
def votes_import(sitting_id: int, file: Path) -> None:
    """Store FILE's JSON list of vote events; all or nothing, an identifier seen before is replaced."""
    from sanarip.votes import store_vote_events

    records = _load(file)
    rt = ready_runtime()
    with rt.db.session() as s:
        rows = store_vote_events(s, sitting_id, records, rt.settings.tz)
        placed = [(r.identifier, r.media_time, r.in_gap) for r in rows]
    for identifier, media_time, in_gap in placed:
        click.echo(f"{identifier}: at {media_time:.1f} s" + (" (in a recording gap: placed at its end)"
                                                           if in_gap else ""))


COMMANDS = [popolo, agenda, votes]
