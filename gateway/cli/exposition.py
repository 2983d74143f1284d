"""``--metrics-port`` of the worker commands (``scheduler``, ``dispatcher``): this process's
counters and histograms (:mod:`gateway.telemetry`) on ``http://HOST:PORT/metrics`` for
Prometheus. Counts, durations and names only, no personal data; loopback unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from gateway.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def metrics_options(command: F) -> F:
    command = click.option(
        "--metrics-host",
        default="127.0.0.1",
        show_default=True,
        help="Interface of the --metrics-port listener.",
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=None,
        help="Serve this process's metrics on this port (/metrics).",
    )(command)


def serve_metrics(port: int | None, host: str) -> Callable[[], None]:
    """Start the listener when a port is given; a function that stops it."""
    if port is None:
        return lambda: None
    from prometheus_client import start_http_server

    from gateway.telemetry import process_registry

    try:
        server, thread = start_http_server(port, addr=host, registry=process_registry())
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} for metrics: {exc.strerror or exc}",
            key="--metrics-port",
        ) from exc
    click.echo(f"metrics on http://{host}:{server.server_port}/metrics")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
