"""Erasing a person from the CRM base, keeping only the audit facts without personal data.

In one transaction: the golden row keeps its id (the audit log and partners refer to it) but its
document becomes empty, its display name goes and it is marked ``erased``; its source records
(raw payloads), identifiers and consents are deleted; one ``golden.erase`` audit row says who
asked, when and by which message. Deleting the identifiers means a record sent again later makes
a new golden profile instead of bringing the erased one back.

Kept in its own module (not :mod:`gateway.store.profiles`) so the identity-resolution work there
is not disturbed; it only reads and writes the tables. Outbox payloads, queued deliveries and
quarantined raw records are erased by the caller in the same transaction
(:func:`gateway.delivery.rights.erase_in_transaction`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from gateway.errors import NotFoundError
from gateway.store import audit
from gateway.store.profiles import content_hash
from gateway.store.tables import audit_log, consent, golden_profile, identifier, source_record

ERASE_ACTION = "golden.erase"


@dataclass(frozen=True, slots=True)
class ErasureResult:
    golden_id: str
    already_erased: bool
    source_records: int  # how many source records were deleted
    quarantine_records: int = 0  # quarantined raw records of the person deleted (delivery.rights)


def erase_profile(
    conn: Connection,
    golden_id: str,
    *,
    actor: str,
    message_id: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ErasureResult:
    """Erase one golden profile inside the caller's transaction (see the module doc).

    Erasing an erased profile again changes nothing and writes no second audit row.

    :raises NotFoundError: no golden profile has that id.
    """
    row = conn.execute(
        select(golden_profile.c.version, golden_profile.c.erased)
        .where(golden_profile.c.id == golden_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("golden profile", golden_id)
    if row.erased:
        return ErasureResult(golden_id, already_erased=True, source_records=0)
    now = at or datetime.now(UTC)
    removed = conn.execute(delete(source_record).where(source_record.c.golden_id == golden_id))
    conn.execute(delete(identifier).where(identifier.c.golden_id == golden_id))
    conn.execute(delete(consent).where(consent.c.golden_id == golden_id))
    conn.execute(
        update(golden_profile)
        .where(golden_profile.c.id == golden_id)
        .values(
            version=row.version + 1,
            display_name=None,
            document={},
            content_hash=content_hash({}),
            updated_at=now,
            erased=True,
        )
    )
    _scrub_audit_keys(conn, golden_id)
    audit.record(
        conn,
        actor=actor,
        action=ERASE_ACTION,
        golden_id=golden_id,
        message_id=message_id,
        detail={**(detail or {}), "source_records": removed.rowcount},
        at=now,
    )
    return ErasureResult(golden_id, already_erased=False, source_records=removed.rowcount)


#: Audit detail keys that hold a person's key in a source system: dropped on erasure, since the
#: identifiers they name are deleted too. Everything else in the log is names of fields.
PERSONAL_DETAIL_KEYS = ("source_key",)


def _scrub_audit_keys(conn: Connection, golden_id: str) -> None:
    rows = conn.execute(
        select(audit_log.c.id, audit_log.c.detail).where(audit_log.c.golden_id == golden_id)
    ).all()
    for row in rows:
        detail = dict(row.detail or {})
        if any(k in detail for k in PERSONAL_DETAIL_KEYS):
            for key in PERSONAL_DETAIL_KEYS:
                detail.pop(key, None)
            conn.execute(update(audit_log).where(audit_log.c.id == row.id).values(detail=detail))


def is_erased(conn: Connection, golden_id: str) -> bool | None:
    """True/False for a known golden profile, None for an unknown id."""
    return conn.execute(
        select(golden_profile.c.erased).where(golden_profile.c.id == golden_id)
    ).scalar()
