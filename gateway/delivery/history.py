"""Reading a person as the dispatcher needs them: the stored profile, and what their partners
were sent so far (inside the caller's transaction)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from gateway.delivery.routing import NOTICE_KINDS, DeliveryKind, History
from gateway.model import Profile, from_dict
from gateway.privacy import DISCLOSURE_ACTION
from gateway.store.tables import audit_log, delivery, golden_profile


@dataclass(frozen=True, slots=True)
class StoredPerson:
    golden_id: str
    version: int
    profile: Profile | None  # None once erased


def load_person(conn: Connection, golden_id: str) -> StoredPerson | None:
    """The golden profile as stored now (None: no such id, e.g. merged away)."""
    g = golden_profile.c
    row = conn.execute(
        select(g.version, g.document, g.erased).where(g.id == golden_id)
    ).first()
    if row is None:
        return None
    profile = None if row.erased else dataclasses.replace(
        from_dict(Profile, row.document), id=golden_id
    )
    return StoredPerson(golden_id, row.version, profile)


def person_history(conn: Connection, golden_id: str) -> History:
    """Last disclosure (audit log, every channel) and last notice (deliveries) per partner."""
    a = audit_log.c
    disclosed = {
        row.partner: row.at
        for row in conn.execute(
            select(a.partner, func.max(a.at).label("at"))
            .where(a.golden_id == golden_id, a.action == DISCLOSURE_ACTION, a.partner.is_not(None))
            .group_by(a.partner)
        )
    }
    d = delivery.c
    notices: dict[str, tuple[DeliveryKind, datetime]] = {}
    for row in conn.execute(
        select(d.partner, d.kind, d.created_at)
        .where(d.golden_id == golden_id, d.kind.in_([k.value for k in NOTICE_KINDS]))
        .order_by(d.id)
    ):
        notices[row.partner] = (DeliveryKind(row.kind), row.created_at)
    return History(disclosed, notices)
