"""``cpex-gateway catalog [--json]``: the data dictionary (gateway/catalog.py)."""

from __future__ import annotations

import json

import click

from gateway.catalog import build_catalog
from gateway.cli.context import CliState, pass_state
from gateway.partners.registry import load_partners, partners_dir


@click.command("catalog")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
@pass_state
def catalog(state: CliState, as_json: bool) -> None:
    """Every canonical field: category, mappings that write and read it, partners that may
    receive it (and for what); every partner's schemas and mappings."""
    gateway = state.gateway
    built = build_catalog(gateway.mappings, load_partners(partners_dir(gateway.settings)))
    if as_json:
        click.echo(json.dumps(built.to_dict(), indent=2))
        return
    for f in built.fields:
        received = ", ".join(f"{r.partner} ({'/'.join(r.purposes)})" for r in f.received_by)
        click.echo(f"{f.path}  [{f.category}]")
        click.echo(f"    written by: {', '.join(f.written_by) or '-'}")
        click.echo(f"    read by:    {', '.join(f.read_by) or '-'}")
        click.echo(f"    received by: {received or 'no partner'}")
    for p in built.partners:
        click.echo(
            f"partner {p.id} ({p.name}): in {p.inbound_mapping or p.inbound_schema or '-'}"
            f", out {p.outbound_mapping or p.outbound_schema or '-'} via "
            f"{p.endpoint or '-'}"
        )
