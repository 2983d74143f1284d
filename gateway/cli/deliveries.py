"""``cpex-gateway dispatcher`` (the delivery worker) and ``cpex-gateway deliveries …``."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from types import FrameType

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.exposition import metrics_options, serve_metrics
from gateway.cli.output import echo_json, json_option
from gateway.delivery import (
    Dispatcher,
    list_deliveries,
    replay_delivery,
    retry_delivery,
)
from gateway.delivery.records import STATUSES
from gateway.mapping_watch import watch_mappings
from gateway.store.migrate import ensure_up_to_date


@click.command("dispatcher")
@click.option("--once", is_flag=True,
              help="One round (route new events, send due ones), then exit.")
@click.option("--max-seconds", type=click.FloatRange(min=0.1), default=None,
              help="Stop after this long (default: until SIGTERM or Ctrl+C).")
@click.option("--idle-seconds", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Wait after a round that found nothing.")
@click.option("--exit-when-idle", is_flag=True,
              help="Stop after a round that finds nothing due (drain, then exit).")
@metrics_options
@pass_state
def dispatcher_command(state: CliState, once: bool, max_seconds: float | None,
                       idle_seconds: float, exit_when_idle: bool, metrics_port: int | None,
                       metrics_host: str) -> None:
    """Deliver outbox events to partners. Any number may run against one PostgreSQL database:
    they share the work and never send one delivery twice at the same time."""
    gateway = state.use_configured_logging()
    ensure_up_to_date(gateway.engine)
    dispatcher = Dispatcher(gateway)
    watcher = None if once else watch_mappings(gateway.mapping_admin)
    stop_metrics = serve_metrics(metrics_port, metrics_host)
    try:
        if once:
            done = dispatcher.run_once()
            click.echo(f"{done.fanned_out.events} events, {done.fanned_out.deliveries} deliveries "
                       f"queued; {done.sent.delivered} delivered, {done.sent.retrying} to retry, "
                       f"{done.sent.dead} dead, {done.sent.withheld} withheld")
            return
        stop = threading.Event()

        def halt(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, halt)
        signal.signal(signal.SIGINT, halt)
        click.echo(f"dispatcher {dispatcher.owner} running")
        dispatcher.run(stop, max_seconds=max_seconds, idle_seconds=idle_seconds,
                       exit_when_idle=exit_when_idle)
        click.echo("dispatcher stopped")
    finally:
        stop_metrics()
        dispatcher.close()
        if watcher is not None:
            watcher.shutdown()


@click.group()
def deliveries() -> None:
    """Outbound deliveries: list, retry a dead letter, replay."""


@deliveries.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--partner", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@pass_state
def list_command(state: CliState, status: str | None, partner: str | None, limit: int,
                 as_json: bool) -> None:
    """Deliveries, newest first."""
    rows = list_deliveries(state.gateway.engine, status=status, partner=partner, limit=limit)
    if as_json:
        echo_json([d.to_dict() for d in rows])
        return
    for d in rows:
        click.echo(f"#{d.id} {d.status:<9} {d.kind:<8} {d.partner:<16} {d.golden_id} "
                   f"attempts {d.attempts} msg {d.message_id}"
                   + (f" error: {d.last_error}" if d.last_error else ""))


@deliveries.command("retry")
@click.argument("delivery_id", type=int)
@pass_state
def retry_command(state: CliState, delivery_id: int) -> None:
    """Put dead delivery DELIVERY_ID back in the queue (same message id)."""
    d = retry_delivery(state.gateway.engine, delivery_id, datetime.now(UTC))
    click.echo(f"#{d.id} queued again for {d.partner}")


@deliveries.command("replay")
@click.argument("delivery_id", type=int)
@pass_state
def replay_command(state: CliState, delivery_id: int) -> None:
    """Send finished delivery DELIVERY_ID again, as a new delivery with a new message id."""
    d = replay_delivery(state.gateway.engine, delivery_id, datetime.now(UTC))
    click.echo(f"#{d.id} queued for {d.partner} (replay of #{delivery_id}, msg {d.message_id})")
