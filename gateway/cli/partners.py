"""``cpex-gateway partners list|check|add-key|hash-password``: the partner registry.

``--dir`` overrides the folder (default: ``partners/`` beside the settings file), so a new
partner file can be checked before it is put in place.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.output import echo_json, json_option
from gateway.delivery.settings import delivery_problems, load_delivery_settings
from gateway.errors import ConfigError
from gateway.partners.passwords import hash_password
from gateway.partners.registry import (
    PartnerRegistry,
    check_references,
    load_partners,
    partners_dir,
)
from gateway.partners.samples import check_samples
from gateway.security.credentials import CredentialStore, Role
from gateway.store.migrate import ensure_up_to_date

_dir_option = click.option(
    "--dir", "folder", type=click.Path(file_okay=False), default=None,
    help="Partner folder (default: partners/ beside the settings file).",
)


@click.group()
def partners() -> None:
    """Partners: who may exchange profiles, how, and what they may see."""


def _registry(state: CliState, folder: str | None) -> PartnerRegistry:
    return load_partners(Path(folder) if folder else partners_dir(state.gateway.settings))


@partners.command("list")
@_dir_option
@json_option
@pass_state
def list_partners(state: CliState, folder: str | None, as_json: bool) -> None:
    """One line per partner: id, operations, endpoint kind, purposes."""
    registry = _registry(state, folder)
    if as_json:
        echo_json([{"id": p.id, "name": p.name, "operations": list(p.operations),
                    "outbound": p.outbound.endpoint.kind if p.outbound else None,
                    "purposes": list(p.privacy.purposes),
                    "categories": list(p.privacy.categories),
                    "fields": list(p.privacy.fields)} for p in registry])
        return
    for p in registry:
        endpoint = p.outbound.endpoint.kind if p.outbound else "-"
        ops = ",".join(p.operations) or "-"
        purposes = ",".join(p.privacy.purposes)
        click.echo(f"{p.id:<16} {ops:<20} out={endpoint:<8} purposes={purposes}  {p.name}")
    click.echo(f"{len(registry)} partners in {registry.folder}")


@partners.command("check")
@_dir_option
@pass_state
def check(state: CliState, folder: str | None) -> int:
    """Check every partner file and what it refers to (schemas, mappings, and the samples of a
    partner that sends its own format, through schema and mapping), and delivery.toml's
    partner sections (warning about credentials not set in this environment). Exit 1 on
    problems."""
    gateway = state.gateway
    registry = _registry(state, folder)
    problems: list[str | ConfigError] = [
        *check_references(registry, gateway.schemas, gateway.settings.path("mappings")),
        *check_samples(registry, gateway.schemas, gateway.mappings)]
    delivery = load_delivery_settings(gateway.settings)
    errors, warnings = delivery_problems(delivery, {p.id for p in registry}, os.environ)
    problems += errors
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        return 1
    click.echo(f"{len(registry)} partners OK in {registry.folder}")
    return 0


@partners.command("add-key")
@click.argument("partner_id", metavar="PARTNER")
@_dir_option
@pass_state
def add_key(state: CliState, partner_id: str, folder: str | None) -> None:
    """Issue an API key for PARTNER and print it (it cannot be shown again)."""
    partner = _registry(state, folder).find(partner_id)
    if partner is None:
        raise ConfigError(f"no partner '{partner_id}' is registered", key="PARTNER")
    if not partner.auth.api_key:
        raise ConfigError(
            f"partner '{partner_id}' does not use API keys", file=f"{partner_id}.toml",
            key="auth.api_key",
        )
    ensure_up_to_date(state.gateway.engine)
    issued = CredentialStore(state.gateway.engine).issue(
        f"{partner.id} key", Role.PARTNER, partner_id=partner.id
    )
    click.echo(f"key id: {issued.principal.key_id}")
    click.echo(f"key:    {issued.token}")
    click.echo("store it now: only its hash is kept")


@partners.command("hash-password")
@click.password_option(prompt="Password", help="The password (prompted when not given).")
def hash_password_command(password: str) -> None:
    """Print the scrypt hash of a password, for auth.basic / auth.ws_security."""
    click.echo(hash_password(password))
