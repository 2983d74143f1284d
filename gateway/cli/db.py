"""``cpex-gateway db upgrade|current``: the CRM base schema."""

from __future__ import annotations

import click

from gateway.cli.context import CliState, pass_state
from gateway.store.migrate import current_revision, head_revision, upgrade


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@pass_state
def upgrade_command(state: CliState) -> None:
    """Apply every pending migration."""
    engine = state.gateway.engine
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    name = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"database {name} already at revision {after}")
    else:
        click.echo(f"database {name} upgraded from {before or 'empty'} to {after}")


@db.command("current")
@pass_state
def current_command(state: CliState) -> int:
    """Print the schema revision of the database and the one this code needs (exit 1 if behind)."""
    current = current_revision(state.gateway.engine)
    head = head_revision()
    click.echo(f"current: {current or 'none'}\nexpected: {head}")
    return 0 if current == head else 1
