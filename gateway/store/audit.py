"""The audit log: who did what to which golden profile, and every disclosure to a partner.

:func:`record` takes a Connection so the entry joins the caller's transaction: a change and its
audit row are stored together or not at all. :class:`AuditLog` is the stand-alone face (its own
transaction per entry, and reading). Entries name fields, never their values: no personal data in
the log beyond the golden id.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row. ``fields`` are dotted field paths touched or disclosed."""

    id: int
    at: datetime
    actor: str
    action: str
    golden_id: str | None = None
    partner: str | None = None
    purpose: str | None = None
    fields: tuple[str, ...] | None = None
    message_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As the history endpoint answers it (fields and ids only: the log holds no values)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "golden_id": self.golden_id,
            "partner": self.partner,
            "purpose": self.purpose,
            "fields": list(self.fields) if self.fields is not None else None,
            "message_id": self.message_id,
            "detail": dict(self.detail),
        }


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    golden_id: str | None = None,
    partner: str | None = None,
    purpose: str | None = None,
    fields: Sequence[str] | None = None,
    message_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Write one entry inside the caller's transaction; returns its id.

    Driver errors are left to the caller, which knows what the whole transaction was doing.
    """
    result = conn.execute(
        audit_log.insert().returning(audit_log.c.id),
        {
            "at": at or datetime.now(UTC),
            "actor": actor,
            "action": action,
            "golden_id": golden_id,
            "partner": partner,
            "purpose": purpose,
            "fields": list(fields) if fields is not None else None,
            "message_id": message_id,
            "detail": dict(detail or {}),
        },
    )
    return int(result.scalar_one())


class AuditLog:
    """Reading the audit log, and writing entries that stand alone."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, **entry: Any) -> int:
        """:func:`record` in a transaction of its own; same keyword arguments."""
        try:
            with write_transaction(self._engine) as conn:
                return record(conn, **entry)
        except SQLAlchemyError as exc:
            raise store_error(f"writing audit entry '{entry.get('action')}'", exc) from exc

    def list(
        self, *, golden_id: str | None = None, golden_ids: Sequence[str] | None = None,
        limit: int = 100, offset: int = 0,
    ) -> builtins.list[AuditEntry]:
        """Entries, oldest first, optionally only those about one golden profile (or several:
        a survivor and the ids merged into it)."""
        query = select(audit_log).order_by(audit_log.c.at, audit_log.c.id)
        if golden_id is not None:
            query = query.where(audit_log.c.golden_id == golden_id)
        if golden_ids is not None:
            query = query.where(audit_log.c.golden_id.in_(golden_ids))
        query = query.limit(limit).offset(offset)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
        except SQLAlchemyError as exc:
            raise store_error("reading the audit log", exc) from exc
        return [
            AuditEntry(
                id=row["id"],
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                golden_id=row["golden_id"],
                partner=row["partner"],
                purpose=row["purpose"],
                fields=tuple(row["fields"]) if row["fields"] is not None else None,
                message_id=row["message_id"],
                detail=row["detail"],
            )
            for row in rows
        ]
