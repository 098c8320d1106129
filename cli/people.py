"""``person``: the deputies and officials who speak in sittings."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import echo_json, ready_runtime
from sanarip.errors import SanaripError


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


@person.command("enroll")
@click.argument("person_id", type=int)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def person_enroll(person_id: int, files: tuple[str, ...]) -> None:
    """Store a voice profile from sample recordings of one person (admins only: biometric data).

    Only the embeddings are kept, never the audio. Every file is checked before anything is
    stored: one with no speech, under 3 s of speech, or that is not media fails the whole command.
    """
    from sanarip.speakers import add_profile, require_person
    from transcribe.enrolment import SampleProblem, embed_sample

    rt = ready_runtime()
    with rt.db.session(readonly=True) as s:
        require_person(s, person_id)
    samples = []
    for name in files:
        if not Path(name).is_file():
            raise SanaripError(f"no such file: {name}")
        try:
            samples.append(embed_sample(name, name))
        except SampleProblem as exc:
            raise SanaripError(str(exc)) from None
    with rt.db.session() as s:
        for embedding, seconds in samples:
            add_profile(s, person_id, embedding, seconds)
    total = sum(sec for _e, sec in samples)
    click.echo(f"person {person_id}: {len(samples)} voice sample(s), {total:.1f} s of speech")


@person.command("forget-voice")
@click.argument("person_id", type=int)
def person_forget_voice(person_id: int) -> None:
    """Delete every voice embedding of a person (their voice profile)."""
    from sanarip.speakers import forget_voice

    with ready_runtime().db.session() as s:
        n = forget_voice(s, person_id)
    click.echo(f"person {person_id}: {n} voice sample(s) deleted")


COMMANDS = [person]
