"""Outbox events for what the pipeline does not announce: a revoked consent and an erasure.

Written on the caller's connection, in the transaction of the revocation or erasure, so the
notice exists if and only if the change was committed (the same rule as the pipeline's events).
The dispatcher turns them into opt-out and erase messages for every partner that received the
person's data (:mod:`gateway.delivery.routing`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select

from gateway.delivery.routing import CONSENT_REVOKED, ERASED
from gateway.pipeline.outbox import write_rows
from gateway.store.tables import golden_profile


def write_erasure_event(
    conn: Connection, golden_id: str, *, requested_by: str | None = None,
    now: datetime | None = None,
) -> None:
    """Announce an erasure; ``requested_by`` (a partner id) is not told of its own request."""
    _write(conn, golden_id, ERASED, {"requested_by": requested_by} if requested_by else {}, now)


def write_revocation_event(
    conn: Connection, golden_id: str, *, purposes: tuple[str, ...] = (),
    now: datetime | None = None,
) -> None:
    """Announce that consents of a person were revoked (``purposes``: which, for the record)."""
    _write(conn, golden_id, CONSENT_REVOKED, {"purposes": list(purposes)}, now)


def _write(conn: Connection, golden_id: str, kind: str, payload: dict[str, object],
           now: datetime | None) -> None:
    at = now or datetime.now(UTC)
    version = conn.execute(
        select(golden_profile.c.version).where(golden_profile.c.id == golden_id)
    ).scalar()
    write_rows(conn, [{"golden_id": golden_id, "kind": kind, "version": int(version or 0),
                       "payload": payload, "created_at": at, "available_at": at,
                       "attempts": 0}])
