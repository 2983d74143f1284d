"""``cpex-gateway erasure-requests list|approve|reject``: what partners' erasures left to decide."""

from __future__ import annotations

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.output import echo_json, json_option
from gateway.delivery.erasure_requests import ErasureRequests, RequestStatus
from gateway.store.migrate import ensure_up_to_date


def _queue(state: CliState) -> ErasureRequests:
    ensure_up_to_date(state.gateway.engine)
    return ErasureRequests(state.gateway.engine)


@click.group("erasure-requests")
def erasure_requests() -> None:
    """Erasure requests filed by partners' erasures: list, approve (erase the person), reject."""


@erasure_requests.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in RequestStatus] + ["all"]),
    default="open",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
@pass_state
def list_command(state: CliState, status: str, limit: int, as_json: bool) -> None:
    """One line per request: id, status, golden id, partner, filed at."""
    found = _queue(state).list(None if status == "all" else RequestStatus(status), limit)
    if as_json:
        echo_json([r.to_dict() for r in found])
        return
    for r in found:
        click.echo(f"{r.id}\t{r.status}\t{r.golden_id}\t{r.partner}\t{r.created_at.isoformat()}")
    if not found:
        click.echo(f"no {status} requests" if status != "all" else "no requests")


@erasure_requests.command("approve")
@click.argument("request_id", type=int)
@pass_state
def approve_command(state: CliState, request_id: int) -> None:
    """Erase the person the request names (with erase notices to earlier recipients)."""
    done = _queue(state).approve(request_id, actor="cli")
    click.echo(f"request {request_id} approved: {done.golden_id} erased")


@erasure_requests.command("reject")
@click.argument("request_id", type=int)
@pass_state
def reject_command(state: CliState, request_id: int) -> None:
    """Keep the person; close the request."""
    _queue(state).reject(request_id, actor="cli")
    click.echo(f"request {request_id} rejected")
