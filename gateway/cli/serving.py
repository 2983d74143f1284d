"""``cpex-gateway serve`` and ``cpex-gateway demo`` (the embedded quick start)."""

from __future__ import annotations

from pathlib import Path

import click
from werkzeug.serving import run_simple

from gateway.cli.context import CliState, pass_state
from gateway.importer import import_batch
from gateway.security.credentials import CredentialStore, Role
from gateway.store.migrate import ensure_up_to_date, upgrade
from gateway.web import create_app

DEMO_BATCH = Path("schemas/examples/demo-batch.xml")


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default from config).")
@click.option("--port", type=int, default=None, help="Port (default from config).")
@pass_state
def serve(state: CliState, host: str | None, port: int | None) -> None:
    """Serve the gateway (refuses to start on an out-of-date database schema)."""
    ensure_up_to_date(state.gateway.engine)
    _serve(state, host, port)


@click.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@pass_state
def demo(state: CliState, host: str | None, port: int | None) -> None:
    """Quick start on embedded defaults: migrate, import the demo batch, then serve."""
    gateway = state.gateway
    upgrade(gateway.engine)
    batch = gateway.settings.path("schemas") / "examples" / DEMO_BATCH.name
    report = import_batch(gateway, batch)
    counts = report.counts
    click.echo(f"database: {gateway.engine.url.render_as_string(hide_password=True)}")
    click.echo(
        f"demo import of {batch.name}: {len(report.outcomes)} records, "
        + ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged", "rejected"))
    )
    issued = CredentialStore(gateway.engine).issue("demo admin", Role.ADMIN)
    settings = gateway.settings
    base = f"http://{host or settings.server.host}:{port or settings.server.port}"
    click.echo(f"demo admin key (shown once): {issued.token}")
    click.echo(
        f'try:  curl -H "Authorization: Bearer {issued.token}" {base}/api/v1/profiles'
    )
    _serve(state, host, port)


def _serve(state: CliState, host: str | None, port: int | None) -> None:
    settings = state.gateway.settings
    host = host or settings.server.host
    port = port or settings.server.port
    app = create_app(gateway=state.gateway)
    click.echo(f"CPEX Gateway listening on http://{host}:{port}/  (health: http://{host}:{port}/health)")
    click.echo("press Ctrl+C to stop")
    run_simple(host, port, app, threaded=True, use_reloader=False)
