"""Outbox events: one row per golden profile change, written in the transaction of the change.

Whoever changes a golden profile (the pipeline, an unmerge, a review approval, an admin edit)
calls :func:`write_changes` on the same connection before committing, so an event exists if and
only if its change was committed: a crash cannot publish a change that was rolled back, nor
lose one that was stored. The dispatcher that delivers them comes with the partner exchange.

The payload says *what* changed (fields, version, absorbed id, the source record that caused
it), never the values: the dispatcher reads the profile as it is when it delivers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.identity.documents import GoldenChange
from gateway.pipeline.tables import outbox_event
from gateway.store.bulk import insert_rows
from gateway.store.engine import store_error


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    golden_id: str
    kind: str
    version: int
    payload: Mapping[str, Any]
    created_at: datetime
    dispatched_at: datetime | None


def event_row(
    change: GoldenChange, now: datetime, cause: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The row for one change; ``cause`` names the source record or action behind it."""
    payload: dict[str, Any] = {"fields": list(change.fields)}
    if change.absorbed_id is not None:
        payload["absorbed_id"] = change.absorbed_id
    if cause:
        payload["cause"] = dict(cause)
    return {
        "golden_id": change.golden_id,
        "kind": change.kind,
        "version": change.version,
        "payload": payload,
        "created_at": now,
        "available_at": now,
        "attempts": 0,
    }


def write_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert prepared event rows in one bulk statement (nothing when empty)."""
    insert_rows(conn, outbox_event, rows)


def write_changes(
    conn: Connection,
    changes: Iterable[GoldenChange],
    *,
    cause: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    """One event per change that changed something (a recompute that came out the same, with no
    fields and not a creation or merge, is not an event). Returns how many were written."""
    at = now or datetime.now(UTC)
    rows = [event_row(c, at, cause) for c in changes if is_event(c)]
    write_rows(conn, rows)
    return len(rows)


def is_event(change: GoldenChange) -> bool:
    """Whether a change is worth telling anyone: creations and merges always, else new fields."""
    return change.kind in ("created", "merged") or bool(change.fields)


def list_events(
    engine: Engine, *, golden_id: str | None = None, limit: int = 100, offset: int = 0
) -> list[OutboxEvent]:
    """Events oldest first (for tests, the CLI and the coming dispatcher's admin view)."""
    e = outbox_event.c
    query = select(
        e.id, e.golden_id, e.kind, e.version, e.payload, e.created_at, e.dispatched_at
    ).order_by(e.id)
    if golden_id is not None:
        query = query.where(e.golden_id == golden_id)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
    except SQLAlchemyError as exc:
        raise store_error("listing outbox events", exc) from exc
    return [OutboxEvent(*row) for row in rows]
