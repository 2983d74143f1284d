"""``cpex-gateway review list|approve|reject``: pairs that may be one customer."""

from __future__ import annotations

import click

from gateway.cli.context import CliState, pass_state
from gateway.identity.review import ReviewQueue
from gateway.store.migrate import ensure_up_to_date


def _queue(state: CliState) -> ReviewQueue:
    ensure_up_to_date(state.gateway.engine)
    return state.gateway.profiles.reviews


@click.group("review")
def review() -> None:
    """The identity review queue: list, approve (merge), reject (keep apart)."""


@review.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "approved", "rejected", "superseded"]),
    default="open",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@pass_state
def list_command(state: CliState, status: str, limit: int) -> None:
    """One line per item: id, golden id, candidate id, score, reason."""
    items = _queue(state).list(status, limit=limit)  # type: ignore[arg-type]
    for item in items:
        score = f"{item.score:.3f}" if item.score is not None else "-"
        click.echo(
            f"{item.id}\t{item.golden_id}\t{item.candidate_id}\t{score}\t"
            f"{item.details.get('reason', '')}"
        )
    if not items:
        click.echo(f"no {status} review items")


@review.command("approve")
@click.argument("item_id", type=int)
@pass_state
def approve_command(state: CliState, item_id: int) -> None:
    """Merge the pair; prints the surviving golden id."""
    click.echo(f"item {item_id} approved: merged into {_queue(state).approve(item_id, 'cli')}")


@review.command("reject")
@click.argument("item_id", type=int)
@pass_state
def reject_command(state: CliState, item_id: int) -> None:
    """Keep the pair apart (never proposed again)."""
    _queue(state).reject(item_id, "cli")
    click.echo(f"item {item_id} rejected: kept apart")
