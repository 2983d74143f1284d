"""Operational figures read from the CRM base: queues, backlogs, freshness, job outcomes.

They come from the database, not from counters kept in memory, so every web process answers
the same and a restart loses nothing: what ops alert on (a growing quarantine, deliveries
piling up or dead, an ERP snapshot going stale, a job failing) is what the tables hold. Each
figure is a gauge with labels; :mod:`gateway.web.metrics` writes them in the Prometheus text
format. No personal data: counts, ages, job and partner names only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Column, ColumnElement, Connection, Engine, and_, func, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.pipeline.tables import inbound_message, outbox_event, quarantine_record
from gateway.privacy.audit import refusal_counts
from gateway.store.engine import store_error
from gateway.store.tables import (
    delivery,
    dropped_file,
    erp_customer,
    erp_source,
    golden_profile,
    job_run,
    job_state,
    review_item,
    source_record,
)

IntakeOutcome = Literal["stored", "review", "quarantined"]
DeliveryOutcome = Literal["delivered", "dead", "withheld"]


@dataclass(frozen=True, slots=True)
class Gauge:
    """One metric: a name (without the ``cpex_`` prefix), help text, and (labels, value) pairs."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


def read_figures(engine: Engine, now: datetime) -> list[Gauge]:
    """Every figure, read in one connection (a consistent enough picture for monitoring).

    :raises StoreError: the database cannot be read.
    """
    try:
        with engine.connect() as conn:
            return list(_figures(conn, now))
    except SQLAlchemyError as exc:
        raise store_error("reading the operational figures", exc) from exc


def _figures(conn: Connection, now: datetime) -> Iterator[Gauge]:
    yield Gauge("golden_profiles", "Golden profiles in the CRM base.",
                samples=[((), _scalar(conn, select(func.count()).select_from(golden_profile)))])
    yield _by_status(conn, "quarantine_records", "Refused inbound records by status.",
                     quarantine_record.c.status)
    yield _by_status(conn, "review_items", "Identity review items by status.",
                     review_item.c.status)
    yield _by_status(conn, "inbound_batches", "Inbound batches by status (processing: cut off "
                     "or in progress).", inbound_message.c.status)

    waiting = outbox_event.c.dispatched_at.is_(None)
    yield Gauge("outbox_undispatched", "Profile changes not yet fanned out to partners.",
                samples=[((), _scalar(conn, select(func.count()).where(waiting)))])
    oldest = conn.execute(select(func.min(outbox_event.c.created_at)).where(waiting)).scalar()
    yield Gauge("outbox_oldest_undispatched_age_seconds",
                "Age of the oldest profile change not yet fanned out (0: none waiting).",
                samples=[((), _age(now, oldest))])

    rows = conn.execute(select(delivery.c.partner, delivery.c.status, func.count())
                        .group_by(delivery.c.partner, delivery.c.status)).all()
    yield Gauge("deliveries", "Outbound deliveries by partner and status.", ("partner", "status"),
                [((r[0], r[1]), float(r[2])) for r in rows])
    rows = conn.execute(select(delivery.c.partner, func.min(delivery.c.created_at))
                        .where(delivery.c.status == "pending").group_by(delivery.c.partner)).all()
    yield Gauge("delivery_oldest_pending_age_seconds",
                "Age of each partner's oldest pending delivery.", ("partner",),
                [((r[0],), _age(now, r[1])) for r in rows])

    live = erp_customer.c.deleted_at.is_(None)
    rows = conn.execute(select(erp_customer.c.source_system, func.count(),
                               func.max(erp_customer.c.extracted_at))
                        .where(live).group_by(erp_customer.c.source_system)).all()
    confirmed: dict[str, datetime] = {r[0]: r[1] for r in conn.execute(
        select(erp_source.c.source_system, erp_source.c.confirmed_at))}
    yield Gauge("erp_customers", "Live customers in the ERP snapshot.", ("source_system",),
                [((r[0],), float(r[1])) for r in rows])
    # Freshness: the start of the last successful refresh that covered every customer (even
    # if nothing changed); before the first one, the newest extraction.
    last_good = {r[0]: max(filter(None, (confirmed.get(r[0]), r[2]))) for r in rows}
    last_good.update((k, v) for k, v in confirmed.items() if k not in last_good)
    yield Gauge("erp_snapshot_age_seconds",
                "Time since the ERP snapshot was last confirmed by a successful refresh "
                "(small on a quiet, healthy ERP).", ("source_system",),
                [((k,), _age(now, v)) for k, v in last_good.items()])
    yield Gauge("erp_last_refresh_success_timestamp_seconds",
                "Start of the last successful ERP refresh that covered every customer.",
                ("source_system",), [((k,), v.timestamp()) for k, v in confirmed.items()])

    rows = conn.execute(select(dropped_file.c.inbox, dropped_file.c.status, func.count())
                        .group_by(dropped_file.c.inbox, dropped_file.c.status)).all()
    yield Gauge("dropped_files", "Files taken from drop inboxes, by inbox (job) and status "
                "(failed: in failed/ with a report).", ("inbox", "status"),
                [((r[0], r[1]), float(r[2])) for r in rows])

    yield Gauge("partner_refusals",
                "Partner queries and erasures answered 'nothing found' (the person is absent, "
                "or not the partner's to see: one answer for both), by partner and operation, "
                "as long as the audit log keeps them.", ("partner", "operation"),
                [((partner, operation), float(n)) for partner, operation, n in
                 refusal_counts(conn)])

    yield from _jobs(conn)


def _jobs(conn: Connection) -> Iterator[Gauge]:
    finished = job_run.c.finished_at.is_not(None)
    last_success = conn.execute(
        select(job_run.c.job, func.max(job_run.c.finished_at))
        .where(finished, job_run.c.status == "succeeded").group_by(job_run.c.job)).all()
    yield Gauge("job_last_success_timestamp_seconds",
                "When each job last finished successfully (Unix time).", ("job",),
                [((r[0],), r[1].timestamp()) for r in last_success])
    newest = (select(job_run.c.job, func.max(job_run.c.id).label("id"))
              .where(finished, job_run.c.status.in_(("succeeded", "failed")))
              .group_by(job_run.c.job).subquery())
    last = conn.execute(select(job_run.c.job, job_run.c.status)
                        .join(newest, and_(job_run.c.id == newest.c.id))).all()
    yield Gauge("job_last_run_failed",
                "1 if the job's latest finished run failed, 0 if it succeeded.", ("job",),
                [((r[0],), 1.0 if r[1] == "failed" else 0.0) for r in last])
    paused = conn.execute(select(job_state.c.job, job_state.c.paused)).all()
    yield Gauge("job_paused", "1 if the job is paused.", ("job",),
                [((r[0],), 1.0 if r[1] else 0.0) for r in paused])


def _by_status(conn: Connection, name: str, help_text: str, status: object) -> Gauge:
    rows = conn.execute(select(status, func.count()).group_by(status)).all()  # type: ignore[call-overload]
    return Gauge(name, help_text, ("status",), [((r[0],), float(r[1])) for r in rows])


def _scalar(conn: Connection, query: object) -> float:
    return float(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def _age(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max((now - then).total_seconds(), 0.0)


@dataclass(frozen=True, slots=True)
class HourCounts:
    """Counts during one hour (UTC) by series (an outcome)."""

    start: datetime
    counts: dict[str, int]


def intake_per_hour(engine: Engine, now: datetime, hours: int = 24) -> list[HourCounts]:
    """Records in per hour over the last ``hours``, oldest first, every hour present.

    stored: source records received (new or changed; an unchanged re-send is not counted again);
    review: review items opened; quarantined: records refused by a stage.

    :raises StoreError: the database cannot be read.
    """
    series: list[tuple[IntakeOutcome, Column[datetime], ColumnElement[bool] | None]] = [
        ("stored", source_record.c.received_at, None),
        ("review", review_item.c.created_at, None),
        ("quarantined", quarantine_record.c.created_at, None),
    ]
    return _per_hour(engine, now, hours, series, "the intake per hour")


def deliveries_per_hour(engine: Engine, now: datetime, hours: int = 24) -> list[HourCounts]:
    """Deliveries finished per hour by outcome (delivered, dead, withheld), oldest first.

    :raises StoreError: the database cannot be read.
    """
    d = delivery.c
    series: list[tuple[DeliveryOutcome, Column[datetime], ColumnElement[bool] | None]] = [
        (status, d.finished_at, d.status == status)
        for status in ("delivered", "dead", "withheld")
    ]
    return _per_hour(engine, now, hours, series, "the deliveries per hour")


def _per_hour(engine: Engine, now: datetime, hours: int,
              series: Sequence[tuple[str, Column[datetime], ColumnElement[bool] | None]],
              what: str) -> list[HourCounts]:
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    slots = [start + timedelta(hours=i) for i in range(hours)]
    counts = {s.strftime("%Y-%m-%d %H"): dict.fromkeys((name for name, _, _ in series), 0)
              for s in slots}
    try:
        with engine.connect() as conn:
            for name, column, condition in series:
                hour = _hour_of(conn, column)
                query = select(hour, func.count()).where(column >= start).group_by(hour)
                if condition is not None:
                    query = query.where(condition)
                for label, count in conn.execute(query).all():
                    if label in counts:
                        counts[label][name] = int(count)
    except SQLAlchemyError as exc:
        raise store_error(f"reading {what}", exc) from exc
    return [HourCounts(s, counts[s.strftime("%Y-%m-%d %H")]) for s in slots]


def _hour_of(conn: Connection, column: Column[datetime]) -> ColumnElement[str]:
    """The UTC hour of a timestamp as ``YYYY-MM-DD HH`` (SQLite stores UTC text)."""
    if conn.dialect.name == "sqlite":
        return func.substr(column, 1, 13)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
