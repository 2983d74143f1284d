"""Overview: backlogs, job states, ERP freshness, deliveries per partner, intake per hour.

The figures are the ones ``/metrics`` serves (:func:`gateway.monitoring.read_figures`), so the
console and the alerting read the same numbers; the chart is :func:`intake_per_hour`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from flask import current_app, render_template, request
from markupsafe import Markup

from gateway.monitoring import (
    Gauge,
    HourCounts,
    deliveries_per_hour,
    intake_per_hour,
    read_figures,
)
from gateway.web.console.auth import page
from gateway.web.console.blueprint import bp
from gateway.web.console.charts import Series, stacked_bars
from gateway.web.console.jobs import jobs_service
from gateway.web.context import gateway_of

INTAKE = (
    Series("stored", "stored", "#2f7d32"),
    Series("review", "sent to review", "#c77c02"),
    Series("quarantined", "quarantined", "#b3261e"),
)
DELIVERIES = (
    Series("delivered", "delivered", "#2f7d32"),
    Series("dead", "dead", "#b3261e"),
    Series("withheld", "withheld (no consent)", "#6b6b6b"),
)
RANGES = {"24h": 24, "7d": 24 * 7}


@bp.get("/")
@page
def overview() -> str:
    """Backlogs, job states, ERP freshness, deliveries per partner, records in per hour."""
    gateway = gateway_of(current_app)
    now = datetime.now(UTC)
    span = request.args.get("range", "24h")
    hours = RANGES.get(span, 24)
    gauges = {g.name: g for g in read_figures(gateway.engine, now)}
    intake = intake_per_hour(gateway.engine, now, hours)
    sent = deliveries_per_hour(gateway.engine, now, hours)
    return render_template(
        "overview.html",
        backlog={
            "quarantine": _one(gauges["quarantine_records"], "open"),
            "review": _one(gauges["review_items"], "open"),
            "batches": _one(gauges["inbound_batches"], "processing"),
            "outbox": _one(gauges["outbox_undispatched"]),
            "outbox_age": _one(gauges["outbox_oldest_undispatched_age_seconds"]),
        },
        erp=[(labels[0], value) for labels, value in gauges["erp_snapshot_age_seconds"].samples],
        deliveries=_by_partner(gauges["deliveries"]),
        jobs=jobs_service().overview(),
        intake_chart=_chart(f"Records in per hour (UTC), {_said(span)}", intake, INTAKE),
        delivery_chart=_chart(
            f"Deliveries finished per hour (UTC), {_said(span)}", sent, DELIVERIES
        ),
        intake_total=sum(sum(h.counts.values()) for h in intake),
        delivery_total=sum(sum(h.counts.values()) for h in sent),
        span=span if span in RANGES else "24h",
    )


def _chart(title: str, hours: list[HourCounts], series: tuple[Series, ...]) -> Markup:
    """Bars per hour; over days, the axis names each day once (at midnight UTC)."""
    labels = [h.start.strftime("%d %b %H:00") for h in hours]
    if len(hours) > 48:
        axis = [h.start.strftime("%d %b") if h.start.hour == 0 else "" for h in hours]
    else:
        axis = [h.start.strftime("%H:00") if i % 3 == 0 else "" for i, h in enumerate(hours)]
    return stacked_bars(title, labels, [h.counts for h in hours], series, axis)


def _said(span: str) -> str:
    return "last 7 days" if span == "7d" else "last 24 hours"


def _one(gauge: Gauge, *labels: str) -> int:
    return int(sum(v for ls, v in gauge.samples if ls == labels))


def _by_partner(gauge: Gauge) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for (partner, status), value in gauge.samples:
        table[partner][status] = int(value)
    return dict(sorted(table.items()))


def age(seconds: float) -> str:
    """A duration as people read it: 42 s, 5 min, 3 h, 2 d."""
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 2 * 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


@bp.app_template_filter("age")
def _age_filter(seconds: Any) -> str:
    return age(float(seconds))


@bp.app_template_filter("duration")
def _duration_filter(run: dict[str, Any] | None) -> str:
    """How long a run (as ``JobRun.to_dict``) took, or '' if it has not finished."""
    if not run or not run.get("started_at") or not run.get("finished_at"):
        return ""
    took = (
        datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    ).total_seconds()
    return f"{took:.1f} s" if took < 120 else age(took)
