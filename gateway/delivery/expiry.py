"""Consents that expire: the partners that received a person's data hear of it when the consent
ends, not at the person's next change.

A consent with an ``expires`` time stops being in force then (``Consent.in_force``), but nothing
changes in the CRM base at that moment, so no outbox event would tell the dispatcher. The
``consent_expiry`` job asks which granted consents expired in a window (since its last
successful run) and writes one revocation event per person, in one transaction; routing then
compares who received data with who may receive it now and sends the opt-out notices. Routing is
idempotent, so a window that overlaps the previous one sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.notices import write_revocation_event
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import consent, golden_profile


def announce_expired_consents(engine: Engine, since: datetime, until: datetime) -> int:
    """One revocation event per person with a granted consent that expired in ``(since,
    until]``; the number of people.

    :raises StoreError: nothing written.
    """
    c, g = consent.c, golden_profile.c
    query = (
        select(c.golden_id, c.purpose)
        .join(golden_profile, g.id == c.golden_id)
        .where(c.status == "granted", c.expires_at > since, c.expires_at <= until,
               g.erased.is_(False))
        .order_by(c.golden_id, c.purpose)
    )
    try:
        with write_transaction(engine) as conn:
            expired: dict[str, list[str]] = {}
            for golden_id, purpose in conn.execute(query):
                expired.setdefault(golden_id, []).append(purpose)
            for golden_id, purposes in expired.items():
                write_revocation_event(conn, golden_id, purposes=tuple(purposes), now=until)
    except SQLAlchemyError as exc:
        raise store_error("announcing expired consents", exc) from exc
    return len(expired)
