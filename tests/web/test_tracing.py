"""With the ``tracing`` extra installed, every HTTP request is a server span named by its route
template, exported through the process's tracer provider (health and metrics excluded)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.web import create_app
from tests.web.conftest import Api

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    # The global provider can be set once per process: set it once, clear between tests.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


def test_requests_become_spans(api: Api, spans: InMemorySpanExporter) -> None:
    client = create_app(gateway=api.gateway).test_client()
    assert client.get("/api/v1/profiles/gp_nope?email=secret%40example.org",
                      headers=api.headers("admin")).status_code == 404
    assert client.get("/health").status_code == 200
    [span] = spans.get_finished_spans()
    assert span.name == "GET /api/v1/profiles/<golden_id>"
    assert span.kind is trace.SpanKind.SERVER
    attributes = dict(span.attributes or {})
    assert attributes.get("http.response.status_code", attributes.get("http.status_code")) == 404
    assert "secret" not in repr(attributes)  # no query string, no personal data
