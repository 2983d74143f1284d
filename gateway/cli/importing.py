"""``cpex-gateway import FILE``: run a batch file through the ingest pipeline.

On a terminal a progress line on stderr is rewritten in place (records, rate, rejected); when
stderr is not a terminal (a pipe, a log file, cron) nothing but the summary is written.
"""

from __future__ import annotations

import sys
import time
from typing import IO

import click

from gateway.cli.context import CliState, pass_state
from gateway.pipeline.files import import_file
from gateway.pipeline.outcome import STATUSES, RecordOutcome
from gateway.pipeline.runner import DEFAULT_MAPPING
from gateway.store.migrate import ensure_up_to_date

# The summary's order: the first four as they always were, for scripts that read the line.
SUMMARY_ORDER = ("created", "updated", "unchanged", "rejected", "merged", "review", "skipped",
                 "erased")
assert set(SUMMARY_ORDER) == set(STATUSES)
MAX_REJECTED_SHOWN = 50


class Progress:
    """The per-record callback: counts, and the in-place progress line on a terminal."""

    def __init__(self, stream: IO[str], interactive: bool, every: float = 0.2) -> None:
        self.stream = stream
        self.interactive = interactive
        self.every = every
        self.records = 0
        self.rejected = 0
        self.started = time.monotonic()
        self._shown = 0.0

    def __call__(self, outcome: RecordOutcome) -> None:
        self.records += 1
        if outcome.status == "rejected":
            self.rejected += 1
            if self.rejected <= MAX_REJECTED_SHOWN:
                self._clear()
                _print_rejected(outcome, self.stream)
        now = time.monotonic()
        if self.interactive and now - self._shown >= self.every:
            self._shown = now
            self.stream.write(f"\r{self.line(now)}")
            self.stream.flush()

    def line(self, now: float) -> str:
        rate = self.records / max(now - self.started, 1e-9)
        return f"{self.records:,} records  {rate:,.0f}/s  {self.rejected:,} rejected"

    def finish(self) -> None:
        self._clear()
        if self.rejected > MAX_REJECTED_SHOWN:
            self.stream.write(
                f"... {self.rejected - MAX_REJECTED_SHOWN} more rejected records: "
                "see 'cpex-gateway quarantine list'\n"
            )

    def _clear(self) -> None:
        if self.interactive and self._shown:
            self.stream.write("\r\x1b[2K")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--source",
    "source_system",
    default=None,
    help="Source system the records come from (default: the envelope header's Sender).",
)
@click.option(
    "--mapping",
    default=DEFAULT_MAPPING,
    show_default=True,
    help="Inbound mapping (a name from mappings/) that turns each record into a profile.",
)
@click.option(
    "--reprocess",
    is_flag=True,
    help="Run the file again even if its message id was processed (after a mapping fix).",
)
@pass_state
def import_command(
    state: CliState, file: str, source_system: str | None, mapping: str, reprocess: bool
) -> int:
    """Import FILE (a CPEX upsert envelope). Exit 1 if any record was rejected.

    Rejected records are quarantined ('cpex-gateway quarantine list'); a file whose message id
    was imported before is not imported again: the stored result is shown.
    """
    gateway = state.gateway
    ensure_up_to_date(gateway.engine)
    progress = Progress(sys.stderr, sys.stderr.isatty())
    try:
        report = import_file(
            gateway,
            file,
            source_system=source_system,
            mapping=mapping,
            reprocess=reprocess,
            keep_outcomes=False,
            on_record=progress,
        )
    finally:
        progress.finish()
    ack = report.acknowledgement()
    counts = ack["counts"]
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in SUMMARY_ORDER)
    if report.replayed:
        click.echo(
            f"{file}: message {report.message_id} was imported before (nothing changed; "
            f"use --reprocess to run it again); then: {ack['records']} records: {summary}"
        )
    else:
        elapsed = time.monotonic() - progress.started
        click.echo(f"{file}: {ack['records']} records: {summary} ({elapsed:.1f} s)")
    for reason, count in ack.get("reasons", {}).items():
        click.echo(f"    {count} {reason}")
    return 1 if counts.get("rejected") else 0


def _print_rejected(outcome: RecordOutcome, stream: IO[str]) -> None:
    stream.write(
        f"rejected record {outcome.index} (line {outcome.line}): refused at the {outcome.stage} "
        f"stage, quarantine entry {outcome.quarantine_id}\n"
    )
    for issue in outcome.errors:
        stream.write(f"    {issue}\n")
