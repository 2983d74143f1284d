"""``cpex-gateway keys add|list|revoke``: API keys for admins and partners."""

from __future__ import annotations

import click

from gateway.cli.context import CliState, pass_state
from gateway.security.credentials import CredentialStore, Role
from gateway.store.migrate import ensure_up_to_date


@click.group()
def keys() -> None:
    """API keys (stored only as hashes; a key is shown once, when issued)."""


def _store(state: CliState) -> CredentialStore:
    ensure_up_to_date(state.gateway.engine)
    return CredentialStore(state.gateway.engine)


@keys.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value,
              show_default=True)
@click.option("--partner", "partner_id", default=None, help="Partner id (partner keys).")
@pass_state
def add_key(state: CliState, name: str, role: str, partner_id: str | None) -> None:
    """Issue a key named NAME and print it (it cannot be shown again)."""
    issued = _store(state).issue(name, Role(role), partner_id=partner_id)
    click.echo(f"key id: {issued.principal.key_id}")
    click.echo(f"key:    {issued.token}")
    click.echo("store it now: only its hash is kept")


@keys.command("list")
@pass_state
def list_keys(state: CliState) -> None:
    """List keys (ids, names, roles; never the keys themselves)."""
    for principal, created, revoked in _store(state).list():
        status = f"revoked {revoked:%Y-%m-%d %H:%M}" if revoked else "active"
        partner = f" partner={principal.partner_id}" if principal.partner_id else ""
        click.echo(
            f"{principal.key_id}  {principal.role:<7}  {principal.name}{partner}  "
            f"created {created:%Y-%m-%d %H:%M}  {status}"
        )


@keys.command("revoke")
@click.argument("key_id")
@pass_state
def revoke_key(state: CliState, key_id: str) -> None:
    """Revoke the key KEY_ID at once."""
    _store(state).revoke(key_id)
    click.echo(f"key {key_id} revoked")
