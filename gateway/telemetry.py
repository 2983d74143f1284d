"""What this process did, as Prometheus counters and histograms: HTTP requests, job runs,
delivery attempts and ingested records.

:mod:`gateway.monitoring` reads what the tables hold (the same from every process); these are
per process, kept in memory from its start (Prometheus handles restarts as counter resets).
``/metrics`` of a web process serves them beside the gauges; scheduler and dispatcher processes
serve theirs with ``--metrics-port``. Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` (an empty
folder per start) so every worker's figures are summed into each scrape.

Labels are names only (route templates, job names, partner ids, outcomes): never a value a
caller sent, never personal data.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: web requests and delivery attempts from 5 ms to a minute; jobs up to an hour.
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SLOW = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)

#: The process's own metrics (a registry of their own, not prometheus_client's global one).
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "cpex_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "cpex_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ("method", "route", "status"),
    buckets=FAST,
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "cpex_job_duration_seconds",
    "Duration of job runs, by job and outcome (succeeded, failed, skipped).",
    ("job", "status"),
    buckets=SLOW,
    registry=REGISTRY,
)
DELIVERY_ATTEMPT = Histogram(
    "cpex_delivery_attempt_duration_seconds",
    "Time of one delivery attempt (build, send, "
    "record), by partner and what became of it (delivered, retrying, dead, withheld).",
    ("partner", "outcome"),
    buckets=FAST,
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "cpex_delivery_latency_seconds",
    "From a delivery's creation (the profile change fanned "
    "out) to the partner's acceptance, by partner.",
    ("partner",),
    buckets=SLOW,
    registry=REGISTRY,
)
INGEST_RECORDS = Counter(
    "cpex_ingest_records",
    "Records through the ingest pipeline, by source system and outcome "
    "(created, updated, merged, unchanged, review, rejected).",
    ("source_system", "outcome"),
    registry=REGISTRY,
)

#: Every metric name this module defines (as exposed: counters gain ``_total``).
NAMES = (
    "cpex_http_requests_total",
    "cpex_http_request_duration_seconds",
    "cpex_job_duration_seconds",
    "cpex_delivery_attempt_duration_seconds",
    "cpex_delivery_latency_seconds",
    "cpex_ingest_records_total",
)


def process_registry() -> CollectorRegistry:
    """What to expose: this process's registry, or every worker's under multiprocess mode."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        return REGISTRY
    merged = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(merged, path=folder)  # type: ignore[no-untyped-call]
    return merged
