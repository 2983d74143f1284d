"""``cpex-gateway review list|approve|reject``: pairs that may be one customer."""

from __future__ import annotations

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.output import echo_json, json_option
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
@json_option
@pass_state
def list_command(state: CliState, status: str, limit: int, as_json: bool) -> None:
    """One line per item: id, golden id, candidate id, score, reason."""
    items = _queue(state).list(status, limit=limit)  # type: ignore[arg-type]
    if as_json:
        echo_json([{"id": i.id, "status": i.status, "golden_id": i.golden_id,
                    "candidate_id": i.candidate_id, "score": i.score,
                    "reason": i.details.get("reason"), "created_at": i.created_at,
                    "decided_at": i.decided_at, "decided_by": i.decided_by} for i in items])
        return
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
