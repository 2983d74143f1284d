"""A person's rights: access (everything held about them) and erasure (with notices to partners).

Erasure runs in one transaction: :func:`gateway.store.erasure.erase_profile` empties the golden
profile and deletes its source records, identifiers and consents; here the person's queued
profile deliveries are withheld (never sent), the causes in their outbox events are dropped
(they may name a source key), the quarantined raw records that hold their data are deleted
(:func:`gateway.pipeline.quarantine_erasure.erase_quarantined`; how many goes into the
erasure's audit row and result), and one ``erased`` event is written, from which the
dispatcher sends an erase message to every partner that received their data.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.notices import write_erasure_event
from gateway.delivery.records import list_deliveries
from gateway.model import to_dict
from gateway.model.xmlcodec import profile_to_bytes
from gateway.pipeline.quarantine_erasure import data_subject, erase_quarantined
from gateway.pipeline.tables import outbox_event
from gateway.privacy import disclosures_of, partners_disclosed_to
from gateway.store.audit import AuditLog
from gateway.store.engine import store_error, write_transaction
from gateway.store.erasure import ErasureResult, erase_profile
from gateway.store.profiles import ProfileStore
from gateway.store.tables import consent, delivery, golden_profile, source_record

EXPORT_LIMIT = 10_000


def export_person(engine: Engine, golden_id: str) -> dict[str, Any]:
    """Everything the CRM base holds about one person, disclosures and deliveries included.

    :raises NotFoundError: no golden profile has that id (an alias answers for its survivor).
    """
    store = ProfileStore(engine)
    current = store.resolve_id(golden_id)
    s, c = source_record.c, consent.c
    try:
        with engine.connect() as conn:
            erased = bool(conn.execute(
                select(golden_profile.c.erased).where(golden_profile.c.id == current)
            ).scalar())
            records = conn.execute(
                select(s.source_system, s.source_key, s.received_at, s.document, s.raw)
                .where(s.golden_id == current).order_by(s.received_at, s.id)
            ).mappings().all()
            consents = conn.execute(
                select(c.purpose, c.recipient, c.status, c.given_at, c.expires_at, c.source)
                .where(c.golden_id == current).order_by(c.id)
            ).mappings().all()
    except SQLAlchemyError as exc:
        raise store_error(f"exporting {current}", exc) from exc
    profile = store.get(current)
    return {
        "profile_id": current,
        "erased": erased,
        "profile": None if erased else {**to_dict(profile), "id": current},
        "cpex": None if erased else profile_to_bytes(profile).decode("utf-8"),
        "source_records": [_jsonable(dict(r)) for r in records],
        "consents": [_jsonable(dict(r)) for r in consents],
        "disclosures": [d.to_dict() for d in disclosures_of(engine, current)],
        "deliveries": [d.to_dict() for d in list_deliveries(engine, golden_id=current,
                                                             limit=EXPORT_LIMIT)],
        "audit": [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "partner": e.partner,
             "purpose": e.purpose, "fields": list(e.fields or ()), "message_id": e.message_id}
            for e in AuditLog(engine).list(golden_id=current, limit=EXPORT_LIMIT)
        ],
    }


def erase_person(engine: Engine, golden_id: str, *, actor: str,
                 requested_by: str | None = None) -> ErasureResult:
    """Erase a person and queue the erase notices (see the module doc); a second call does
    nothing more.

    :raises NotFoundError: no golden profile has that id.
    """
    try:
        with write_transaction(engine) as conn:
            return erase_in_transaction(conn, golden_id, actor=actor, requested_by=requested_by)
    except SQLAlchemyError as exc:
        raise store_error(f"erasing {golden_id}", exc) from exc


def erase_in_transaction(
    conn: Connection,
    golden_id: str,
    *,
    actor: str,
    requested_by: str | None = None,
    message_id: str | None = None,
    now: datetime | None = None,
) -> ErasureResult:
    """Erase on the caller's connection: the profile data, queued profile deliveries withheld,
    the person's outbox payloads scrubbed, their quarantined records deleted, and one erase
    notice for every earlier recipient but ``requested_by``. Used by the admin DELETE and by a
    partner's EraseProfile alike."""
    now = now or datetime.now(UTC)
    notify = [p for p in partners_disclosed_to(conn, golden_id) if p != requested_by]
    # read who the person is before erase_profile deletes their identifiers and records
    quarantined = erase_quarantined(conn, data_subject(conn, golden_id))
    detail: dict[str, object] = {"notify_partners": notify, "quarantine_records": quarantined}
    if requested_by:
        detail["requested_by"] = requested_by
    result = erase_profile(conn, golden_id, actor=actor, message_id=message_id, detail=detail,
                           at=now)
    result = dataclasses.replace(result, quarantine_records=quarantined)
    if not result.already_erased:
        conn.execute(
            update(delivery)
            .where(delivery.c.golden_id == golden_id, delivery.c.status == "pending",
                   delivery.c.kind == "profile")
            .values(status="withheld", finished_at=now, locked_by=None,
                    locked_until=None, last_error="the person was erased")
        )
        conn.execute(
            update(outbox_event).where(outbox_event.c.golden_id == golden_id)
            .values(payload={"erased": True})
        )
        write_erasure_event(conn, golden_id, requested_by=requested_by, now=now)
    return result


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
