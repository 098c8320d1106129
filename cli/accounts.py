"""``user`` and ``token``: clerk, editor and admin accounts and their API tokens."""

from __future__ import annotations

import click

from cli.common import echo_json, read_password, ready_runtime
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
@click.option("--expires", help="Lifetime in days, e.g. 30d (default: until revoked).")
@click.option("--name", default="", help="A label shown by `token list` (what the script is for).")
def token_create(username: str, expires: str | None, name: str) -> None:
    """Create an API token for USERNAME and print it (it is shown only once)."""
    from sanarip.accounts import create_token, parse_days

    days = parse_days(expires) if expires is not None else None
    with ready_runtime().db.session() as s:
        click.echo(create_token(s, username, name=name, expires_days=days))


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per token.")
def token_list(as_json: bool) -> None:
    """Every token: id, user, name, created, expiry, last use, revocation (never the token itself)."""
    from sanarip.accounts import list_tokens
    from sanarip.clock import local_label

    with ready_runtime().db.session(readonly=True) as s:
        rows = list_tokens(s)

    def when(value) -> str:
        return local_label(value) or "-"

    if as_json:
        echo_json([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows])
        return
    click.echo(f"{'id':>4}  {'user':<16} {'name':<20} {'created':<16} {'expires':<16} {'last used':<16} revoked")
    for r in rows:
        click.echo(f"{r['id']:>4}  {r['user']:<16} {r['name'] or '-':<20} {when(r['created']):<16} "
                   f"{when(r['expires']):<16} {when(r['last_used']):<16} {when(r['revoked'])}")


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1))
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (see `token list`): it stops working at once."""
    from sanarip.accounts import revoke_token

    with ready_runtime().db.session() as s:
        revoke_token(s, token_id)
    click.echo(f"revoked token {token_id}")


COMMANDS = [user, token]
