"""``cpex-gateway serve``, and the serving loop the demo shares.

The port is bound first: a port in use is an error before anything is migrated, imported or
started (:func:`bind`); the Flask app is attached to the bound server once built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
from waitress.server import create_server

from gateway.cli.context import CliState, pass_state
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.config import Settings

scheduler_option = click.option(
    "--scheduler/--no-scheduler",
    "with_scheduler",
    default=None,
    help="Run the jobs of config/jobs.toml in this process (default: on for SQLite only; "
    "on PostgreSQL run 'cpex-gateway scheduler' processes instead).",
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class _Deferred:
    """The bound server's WSGI app until the real one is attached (answers 503 meanwhile)."""

    app: WSGIApp | None = field(default=None)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting\n"]
        return self.app(environ, start_response)


@dataclass
class Bound:
    """A listening waitress server whose app is attached later."""

    server: Any
    host: str
    port: int
    target: _Deferred

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def bind(state: CliState, host: str | None, port: int | None) -> Bound:
    """Listen on ``host:port`` (defaults from ``[server]``) before any other work.

    :raises ConfigError: the port is in use or the address cannot be bound (``server.port``).
    """
    settings = state.gateway.settings
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    target = _Deferred()
    # waitress: a production WSGI server in one process, so the embedded scheduler and
    # dispatcher threads live beside it (never inside gunicorn's forked workers).
    try:
        server = make_server(target, settings, host=host, port=port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another with --port)",
            key="server.port",
        ) from exc
    return Bound(server, host, int(getattr(server, "effective_port", port)), target)


def make_server(app: WSGIApp, settings: Settings, *, host: str, port: int) -> Any:
    """The waitress server of ``serve``: its own body cap follows ``server.max_body_bytes``, so
    an oversized body is refused while it arrives, not buffered (up to waitress's 1 GiB) first."""
    from gateway.web.body import server_body_cap

    return create_server(
        app,
        host=host,
        port=port,
        threads=settings.server.threads,
        ident="cpex-gateway",
        max_request_body_size=server_body_cap(settings.server.max_body_bytes),
    )


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default from config).")
@click.option("--port", type=int, default=None, help="Port (default from config).")
@scheduler_option
@pass_state
def serve(state: CliState, host: str | None, port: int | None, with_scheduler: bool | None) -> None:
    """Serve the gateway (refuses to start on an out-of-date database schema)."""
    from gateway.store.migrate import ensure_up_to_date

    bound = bind(state, host, port)
    try:
        ensure_up_to_date(state.gateway.engine)
    except BaseException:
        bound.server.close()
        raise
    run_server(state, bound, with_scheduler)


def run_server(
    state: CliState,
    bound: Bound,
    with_scheduler: bool | None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Attach the app, start the jobs (embedded SQLite: by default) and serve until Ctrl+C."""
    from gateway.mapping_watch import watch_mappings
    from gateway.web import create_app
    from scheduler.embedded import start_embedded_scheduler

    gateway = state.use_configured_logging()
    # the bound address is the one the WSDL states, unless server.public_url says otherwise
    server = gateway.settings.server.model_copy(update={"host": bound.host, "port": bound.port})
    gateway.settings = gateway.settings.model_copy(update={"server": server})
    runner = watcher = None
    try:
        gateway.profiles  # noqa: B018  (identity.toml checked before serving: a mistake stops here)
        bound.target.app = create_app(gateway=gateway)
        embedded = gateway.engine.dialect.name == "sqlite"
        run_jobs = embedded if with_scheduler is None else with_scheduler
        runner = start_embedded_scheduler(gateway) if run_jobs else None
        watcher = watch_mappings(gateway.mapping_admin)
        if runner is not None:
            click.echo(f"scheduler: {len(runner.config.jobs)} jobs from config/jobs.toml")
        click.echo(
            f"CPEX Gateway listening on {bound.base_url}/  (health: {bound.base_url}/health)"
        )
        click.echo("press Ctrl+C to stop")
        bound.server.run()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        bound.server.close()
        if watcher is not None:
            watcher.shutdown()
        if runner is not None:
            runner.shutdown()
        if on_stop is not None:
            on_stop()
