"""``cpex-gateway quarantine list|show|retry|discard``: records the pipeline refused."""

from __future__ import annotations

import json

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.output import echo_json, json_option
from gateway.pipeline.quarantine import Quarantine
from gateway.store.migrate import ensure_up_to_date


def _quarantine(state: CliState) -> Quarantine:
    ensure_up_to_date(state.gateway.engine)
    return Quarantine(state.gateway)


@click.group("quarantine")
def quarantine() -> None:
    """Refused records: list, show, retry through the current mappings, discard."""


@quarantine.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "retried", "discarded", "all"]),
    default="open",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
@pass_state
def list_command(state: CliState, status: str, limit: int, as_json: bool) -> None:
    """One line per entry: id, status, source, record, stage, code, first error."""
    entries = _quarantine(state).list(None if status == "all" else status, limit=limit)  # type: ignore[arg-type]
    if as_json:
        echo_json([e.to_dict() for e in entries])
        return
    for e in entries:
        first = e.errors[0].get("message", "") if e.errors else ""
        click.echo(
            f"{e.id}\t{e.status}\t{e.source_system}\t{e.source}#{e.record_index}\t"
            f"{e.stage}\t{e.code}\t{first}"
        )
    if not entries:
        click.echo(f"no {status} entries" if status != "all" else "no entries")


@quarantine.command("show")
@click.argument("entry_id", type=int)
@pass_state
def show_command(state: CliState, entry_id: int) -> None:
    """The entry as JSON, with its raw record."""
    click.echo(json.dumps(_quarantine(state).get(entry_id).to_dict(), indent=2))


@quarantine.command("retry")
@click.argument("entry_id", type=int)
@pass_state
def retry_command(state: CliState, entry_id: int) -> int:
    """Run the record again with the current mappings. Exit 1 if refused again."""
    outcome = _quarantine(state).retry(entry_id, actor="cli")
    if outcome.status == "rejected":
        click.echo(f"entry {entry_id} refused again at the {outcome.stage} stage:", err=True)
        for issue in outcome.errors:
            click.echo(f"    {issue}", err=True)
        return 1
    click.echo(f"entry {entry_id}: {outcome.status} {outcome.golden_id}")
    return 0


@quarantine.command("discard")
@click.argument("entry_id", type=int)
@pass_state
def discard_command(state: CliState, entry_id: int) -> None:
    """Close the entry without storing the record."""
    _quarantine(state).discard(entry_id, actor="cli")
    click.echo(f"entry {entry_id} discarded")
