"""``user`` and ``token``: clerk, editor and admin accounts and their API tokens."""

from __future__ import annotations

import click

from cli.common import read_password, ready_runtime
from sanarip.models import ROLES


@click.group()
def user() -> None:
    """Clerk, editor and admin accounts."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
def user_add(username: str, role: str) -> None:
    """Add a user; the password is prompted (or read as one line from a pipe)."""
    from sanarip.accounts import add_user

    password = read_password()
    with ready_runtime().db.session() as s:
        add_user(s, username, password, role)
    click.echo(f"added {role} {username}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: their sessions and tokens stop working."""
    from sanarip.accounts import disable_user

    with ready_runtime().db.session() as s:
        disable_user(s, username)
    click.echo(f"disabled {username}")


@click.group()
def token() -> None:
    """API tokens for scripts (Authorization: Bearer …)."""


@token.command("create")
@click.argument("username")
def token_create(username: str) -> None:
    """Create an API token for USERNAME and print it (it is shown only once)."""
    from sanarip.accounts import create_token

    with ready_runtime().db.session() as s:
        click.echo(create_token(s, username))


COMMANDS = [user, token]
