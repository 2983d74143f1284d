"""Fan-out: turn undispatched outbox events into deliveries, one transaction per round.

A round claims the oldest due events (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
dispatchers take disjoint rows; on SQLite the write transaction's ``BEGIN IMMEDIATE`` makes one
dispatcher at a time), routes each (:mod:`gateway.delivery.routing`), inserts its deliveries and
marks it dispatched, and commits all of that together: an event is dispatched if and only if
its deliveries exist. ``UNIQUE (event_id, partner)`` guards the same again at the database.

An event is claimed only when no older undispatched event of the same person exists, so the
deliveries of one person are created in event order even with several dispatchers. One event
that cannot be routed (a bug, a corrupt document) is rolled back to its savepoint and put off
with backoff and its error; the others of the round go on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.backoff import retry_delay
from gateway.delivery.history import load_person, person_history
from gateway.delivery.routing import Route, route_event
from gateway.delivery.settings import DeliverySettings
from gateway.partners.spec import PartnerSpec
from gateway.pipeline.tables import outbox_event
from gateway.privacy import load_evidence
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import delivery

log = logging.getLogger(__name__)

PENDING = "pending"
DEAD = "dead"


@dataclass(frozen=True, slots=True)
class FanOutResult:
    events: int = 0
    deliveries: int = 0
    failed: int = 0


def event_message_id(sender: str, event_id: int, partner: str) -> str:
    """The stable message id of an event's delivery to a partner: the same however often the
    delivery is attempted, so the partner can drop a repeat (``Idempotency-Key``)."""
    return f"{sender}.{event_id}.{partner}"


def fan_out(
    engine: Engine,
    partners: Sequence[PartnerSpec],
    settings: DeliverySettings,
    *,
    owner: str,
    now: datetime,
    consent_sources: frozenset[str],
) -> FanOutResult:
    """One round: up to ``settings.batch`` events routed and marked dispatched, in one commit.

    ``consent_sources``: the systems whose consents decide disclosures (``[privacy]``).
    """
    result = FanOutResult()
    try:
        with write_transaction(engine) as conn:
            for event in _claim(conn, settings.batch, now):
                result = _dispatch_one(conn, event, partners, settings, owner, now, result,
                                       consent_sources)
    except SQLAlchemyError as exc:
        raise store_error("fanning out outbox events", exc) from exc
    return result


def _claim(conn: Connection, limit: int, now: datetime) -> list[Any]:
    e = outbox_event.c
    older = outbox_event.alias("older")
    query = (
        select(e.id, e.golden_id, e.kind, e.payload, e.attempts)
        .where(
            e.dispatched_at.is_(None),
            e.available_at <= now,
            ~exists().where(
                and_(
                    older.c.golden_id == e.golden_id,
                    older.c.dispatched_at.is_(None),
                    older.c.id < e.id,
                )
            ),
        )
        .order_by(e.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=outbox_event)
    return list(conn.execute(query).all())


def _dispatch_one(
    conn: Connection,
    event: Any,
    partners: Sequence[PartnerSpec],
    settings: DeliverySettings,
    owner: str,
    now: datetime,
    result: FanOutResult,
    consent_sources: frozenset[str],
) -> FanOutResult:
    savepoint = conn.begin_nested()
    try:
        routes = _routes(conn, event, partners, now, consent_sources)
        if routes:
            conn.execute(insert(delivery), [_row(event, r, settings, now) for r in routes])
        conn.execute(
            update(outbox_event)
            .where(outbox_event.c.id == event.id)
            .values(dispatched_at=now, locked_by=owner, attempts=event.attempts + 1,
                    last_error=None)
        )
        savepoint.commit()
    except (SQLAlchemyError, ValueError, LookupError) as exc:
        savepoint.rollback()
        error = f"{type(exc).__name__}: {str(getattr(exc, 'orig', exc)).partition(chr(10))[0]}"
        log.warning("outbox event %s (%s of %s) not routed: %s", event.id, event.kind,
                    event.golden_id, error)
        attempts = event.attempts + 1
        conn.execute(
            update(outbox_event)
            .where(outbox_event.c.id == event.id)
            .values(attempts=attempts, last_error=error,
                    available_at=now + retry_delay(attempts, base_seconds=settings.backoff_seconds,
                                                   max_seconds=settings.backoff_max_seconds,
                                                   jitter=settings.jitter))
        )
        return dataclasses.replace(result, events=result.events + 1, failed=result.failed + 1)
    return dataclasses.replace(result, events=result.events + 1,
                               deliveries=result.deliveries + len(routes))


def _routes(
    conn: Connection,
    event: Any,
    partners: Sequence[PartnerSpec],
    now: datetime,
    consent_sources: frozenset[str],
) -> list[Route]:
    person = load_person(conn, event.golden_id)
    if person is None:  # merged away or never stored: nothing to tell about this id
        return []
    payload = event.payload or {}
    exclude = [payload["requested_by"]] if payload.get("requested_by") else []
    exclude += _originator(payload, partners)
    evidence = load_evidence(conn, [event.golden_id], consent_sources)[event.golden_id]
    return route_event(event.kind, person.profile, partners,
                       person_history(conn, event.golden_id), now, evidence=evidence,
                       exclude=exclude)


def _originator(payload: Mapping[str, Any], partners: Sequence[PartnerSpec]) -> list[str]:
    """The partner whose own record caused the change: it is not sent its data back. An echo
    teaches it nothing it did not say, and two hubs that upsert what they receive would pass
    the same change back and forth."""
    cause = payload.get("cause") or {}
    system = cause.get("source_system") if isinstance(cause, Mapping) else None
    return [p.id for p in partners if system is not None and p.system == system]


def _row(event: Any, route: Route, settings: DeliverySettings, now: datetime) -> dict[str, Any]:
    dead = route.unreachable is not None
    return {
        "event_id": event.id,
        "golden_id": event.golden_id,
        "partner": route.partner,
        "kind": route.kind.value,
        "purpose": route.purpose.value if route.purpose else None,
        "message_id": event_message_id(settings.sender, event.id, route.partner),
        "status": DEAD if dead else PENDING,
        "attempts": 0,
        "created_at": now,
        "available_at": now,
        "finished_at": now if dead else None,
        "last_error": route.unreachable,
    }
