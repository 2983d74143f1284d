"""``cpex-gateway import FILE``: store the valid profiles of a CPEX batch."""

from __future__ import annotations

import click

from gateway.cli.context import CliState, pass_state
from gateway.importer import RecordOutcome, import_batch
from gateway.store.migrate import ensure_up_to_date


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--source",
    "source_system",
    default=None,
    help="Source system the records come from (default: the envelope header's Sender).",
)
@pass_state
def import_command(state: CliState, file: str, source_system: str | None) -> int:
    """Import FILE (a CPEX upsert envelope); one line per rejected record. Exit 1 if any."""
    gateway = state.gateway
    ensure_up_to_date(gateway.engine)
    report = import_batch(gateway, file, source_system=source_system, on_record=_print_rejected)
    counts = report.counts
    summary = ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged", "rejected"))
    click.echo(f"{file}: {len(report.outcomes)} records: {summary}")
    return 1 if report.rejected else 0


def _print_rejected(outcome: RecordOutcome) -> None:
    if outcome.status != "rejected":
        return
    click.echo(f"rejected record {outcome.index} (line {outcome.line}):", err=True)
    for issue in outcome.errors:
        click.echo(f"    {issue}", err=True)
