"""OpenTelemetry traces of the web app, when the ``tracing`` extra is installed.

``pip install 'cpex-gateway[tracing]'`` brings the OpenTelemetry API, SDK and Flask
instrumentation; every request then becomes a server span named by its route template (through
the tracer provider the process configured: ``opentelemetry-instrument`` or the standard
``OTEL_*`` variables choose the exporter). Without the extra nothing is traced and nothing fails.
Spans carry the method, route and status, never a query string or a body.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, has_request_context, request

log = logging.getLogger(__name__)


def init_app(app: Flask) -> bool:
    """Instrument ``app`` if OpenTelemetry's Flask instrumentation is installed; whether it was."""
    try:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
    except ImportError:
        return False
    FlaskInstrumentor().instrument_app(  # type: ignore[no-untyped-call]
        app, excluded_urls="health,metrics", response_hook=_without_query)
    log.info("OpenTelemetry tracing of HTTP requests is on")
    return True


def _without_query(span: Any, _status: str, _headers: list[tuple[str, str]]) -> None:
    """The instrumentation records the target and URL with their query string (searches carry
    e-mail addresses and phone numbers): keep the path only. Runs once the answer starts, after
    the instrumentation wrote its attributes."""
    if not span.is_recording() or not has_request_context():
        return
    span.set_attribute("http.target", request.path)
    span.set_attribute("http.url", request.base_url)
    span.set_attribute("url.query", "")
