"""``cpex-gateway keys add|list|rotate|revoke``: API keys for admins, partners and monitors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.output import echo_json, json_option
from gateway.security.credentials import CredentialStore, IssuedKey, Role
from gateway.store.migrate import ensure_up_to_date

_expires_option = click.option(
    "--expires-in", type=click.IntRange(1, 3650), default=None, metavar="DAYS",
    help="The key stops working after this many days (default: until revoked).")


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
@_expires_option
@pass_state
def add_key(state: CliState, name: str, role: str, partner_id: str | None,
            expires_in: int | None) -> None:
    """Issue a key named NAME and print it (it cannot be shown again)."""
    issued = _store(state).issue(name, Role(role), partner_id=partner_id,
                                 expires_at=_days_from_now(expires_in))
    _show(issued)


@keys.command("rotate")
@click.argument("key_id")
@click.option("--overlap-days", type=click.IntRange(0, 365), default=7, show_default=True,
              help="How long the old key keeps working beside the new one.")
@_expires_option
@pass_state
def rotate_key(state: CliState, key_id: str, overlap_days: int, expires_in: int | None) -> None:
    """Issue the successor of KEY_ID (same name, role, partner); KEY_ID expires after the
    overlap, so its holder can switch keys without an outage."""
    issued = _store(state).rotate(key_id, overlap=timedelta(days=overlap_days),
                                  expires_at=_days_from_now(expires_in))
    _show(issued)
    click.echo(f"key {key_id} stops working in {overlap_days} days")


def _days_from_now(days: int | None) -> datetime | None:
    return None if days is None else datetime.now(UTC) + timedelta(days=days)


def _show(issued: IssuedKey) -> None:
    click.echo(f"key id: {issued.principal.key_id}")
    click.echo(f"key:    {issued.token}")
    click.echo("store it now: only its hash is kept")


@keys.command("list")
@json_option
@pass_state
def list_keys(state: CliState, as_json: bool) -> None:
    """List keys (ids, names, roles; never the keys themselves)."""
    now = datetime.now(UTC)
    records = _store(state).list()
    if as_json:
        echo_json([{"key_id": k.principal.key_id, "name": k.principal.name,
                    "role": k.principal.role.value, "partner": k.principal.partner_id,
                    "status": k.status(now), "created_at": k.created_at,
                    "expires_at": k.expires_at, "revoked_at": k.revoked_at} for k in records])
        return
    for key in records:
        principal, status = key.principal, key.status(now)
        if key.revoked_at is not None:
            status += f" {key.revoked_at:%Y-%m-%d %H:%M}"
        elif key.expires_at is not None:
            status += f" (expires {key.expires_at:%Y-%m-%d %H:%M})" if status == "active" \
                else f" {key.expires_at:%Y-%m-%d %H:%M}"
        partner = f" partner={principal.partner_id}" if principal.partner_id else ""
        click.echo(
            f"{principal.key_id}  {principal.role:<7}  {principal.name}{partner}  "
            f"created {key.created_at:%Y-%m-%d %H:%M}  {status}"
        )


@keys.command("revoke")
@click.argument("key_id")
@pass_state
def revoke_key(state: CliState, key_id: str) -> None:
    """Revoke the key KEY_ID at once."""
    _store(state).revoke(key_id)
    click.echo(f"key {key_id} revoked")
