"""``GET /metrics``: the operational figures in the Prometheus text format.

Open to monitor keys (``cpex-gateway keys add prometheus --role monitor``: a key that can read
these figures and nothing else) and admin keys. Prometheus sends the key as a bearer token
(``authorization: {credentials: <key>}`` in the scrape config). Figures are read from the
database on each scrape (:mod:`gateway.monitoring`), so any web process can be scraped; after
them come this process's counters and histograms (:mod:`gateway.telemetry`: HTTP requests, job
runs, delivery attempts, ingested records).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from gateway.monitoring import Gauge, read_figures
from gateway.telemetry import process_registry
from gateway.web.access import Access, access
from gateway.web.context import gateway_of

bp = Blueprint("metrics", __name__)

PREFIX = "cpex_"


class _Figures(Collector):
    def __init__(self, gauges: list[Gauge]) -> None:
        self._gauges = gauges

    def collect(self) -> list[GaugeMetricFamily]:
        families = []
        for gauge in self._gauges:
            family = GaugeMetricFamily(PREFIX + gauge.name, gauge.help, labels=gauge.labels)
            for labels, value in gauge.samples:
                family.add_metric(list(labels), value)
            families.append(family)
        return families


@bp.get("/metrics")
@access(Access.MONITOR)
def metrics() -> Response:
    """Queue sizes, backlogs, ERP snapshot age and job outcomes (Prometheus text format)."""
    gauges = read_figures(gateway_of(current_app).engine, datetime.now(UTC))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(gauges))
    body = generate_latest(registry) + generate_latest(process_registry())
    return Response(body, content_type=CONTENT_TYPE_LATEST)
