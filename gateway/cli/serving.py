"""``cpex-gateway serve`` and ``cpex-gateway demo`` (the embedded quick start)."""

from __future__ import annotations

from pathlib import Path

import click
from waitress.server import create_server

from gateway.cli.context import CliState, pass_state
from gateway.erp.service import run_demo_erp
from gateway.errors import ConfigError
from gateway.importer import import_batch
from gateway.mapping_watch import watch_mappings
from gateway.security.credentials import CredentialStore, IssuedKey, Role
from gateway.store.migrate import ensure_up_to_date, upgrade
from gateway.web import create_app
from scheduler.embedded import start_embedded_scheduler

DEMO_BATCH = Path("schemas/examples/demo-batch.xml")
OUTCOMES = ("created", "updated", "merged", "unchanged", "review", "rejected")

_scheduler_option = click.option(
    "--scheduler/--no-scheduler",
    "with_scheduler",
    default=None,
    help="Run the jobs of config/jobs.toml in this process (default: on for SQLite only; "
    "on PostgreSQL run 'cpex-gateway scheduler' processes instead).",
)


DEMO_KEY_NAME = "demo admin"


def issue_demo_key(keys: CredentialStore) -> IssuedKey:
    """A fresh admin key for the demo; earlier demo keys are revoked (one at a time: the one
    printed last), other keys are left alone."""
    for earlier in keys.list():
        if earlier.principal.name == DEMO_KEY_NAME and earlier.revoked_at is None:
            keys.revoke(earlier.principal.key_id)
    return keys.issue(DEMO_KEY_NAME, Role.ADMIN)


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default from config).")
@click.option("--port", type=int, default=None, help="Port (default from config).")
@_scheduler_option
@pass_state
def serve(
    state: CliState, host: str | None, port: int | None, with_scheduler: bool | None
) -> None:
    """Serve the gateway (refuses to start on an out-of-date database schema)."""
    ensure_up_to_date(state.gateway.engine)
    _serve(state, host, port, with_scheduler)


@click.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@_scheduler_option
@pass_state
def demo(
    state: CliState, host: str | None, port: int | None, with_scheduler: bool | None
) -> None:
    """Quick start on embedded defaults: migrate, import the demo batch, refresh the demo ERP
    into the CRM base, then serve."""
    gateway = state.gateway
    upgrade(gateway.engine)
    batch = gateway.settings.path("schemas") / "examples" / DEMO_BATCH.name
    if not batch.is_file():
        raise click.ClickException(
            f"the demo batch is not at {batch}: run the demo from the CPEX Gateway checkout, "
            "or point --config at its config/gateway.toml"
        )
    report = import_batch(gateway, batch)
    counts = report.counts
    click.echo(f"database: {gateway.engine.url.render_as_string(hide_password=True)}")
    click.echo(
        f"demo import of {batch.name}: {len(report.outcomes)} records, "
        + ", ".join(f"{counts[k]} {k}" for k in OUTCOMES)
    )
    click.echo(run_demo_erp(gateway))
    issued = issue_demo_key(CredentialStore(gateway.engine))
    settings = gateway.settings
    base = f"http://{host or settings.server.host}:{port or settings.server.port}"
    click.echo(f"demo admin key (shown once): {issued.token}")
    click.echo(
        f'try:  curl -H "Authorization: Bearer {issued.token}" {base}/api/v1/profiles'
    )
    click.echo(f"admin console: {base}/console/  (sign in with the key above)")
    _serve(state, host, port, with_scheduler)


def _serve(
    state: CliState, host: str | None, port: int | None, with_scheduler: bool | None
) -> None:
    gateway = state.use_configured_logging()
    settings = gateway.settings
    host = host or settings.server.host
    port = port or settings.server.port
    app = create_app(gateway=gateway)
    # waitress: a production WSGI server in one process, so the embedded scheduler and
    # dispatcher threads live beside it (never inside gunicorn's forked workers). Binding
    # before anything starts: a port in use is an error before any thread runs.
    try:
        server = create_server(app, host=host, port=port, threads=settings.server.threads,
                               ident="cpex-gateway")
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                          key="server.port") from exc
    embedded = gateway.engine.dialect.name == "sqlite"
    run_jobs = embedded if with_scheduler is None else with_scheduler
    runner = start_embedded_scheduler(gateway) if run_jobs else None
    watcher = watch_mappings(gateway.mapping_admin)
    if runner is not None:
        click.echo(f"scheduler: {len(runner.config.jobs)} jobs from config/jobs.toml")
    click.echo(f"CPEX Gateway listening on http://{host}:{port}/  "
               f"(health: http://{host}:{port}/health)")
    click.echo("press Ctrl+C to stop")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.close()
        watcher.shutdown()
        if runner is not None:
            runner.shutdown()
