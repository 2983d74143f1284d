"""Disclosures in the audit log: written with whatever else the caller writes, read back per person.

One row per disclosure (action ``disclosure``): golden id, partner, purpose, the field paths sent,
the time and the message id that carried it. Field names only, never values. Writing takes the
caller's Connection so the row is committed together with the answer or delivery it records, and
is rolled back with it. Reading answers "who received my data, what and when", and tells the
erasure and revocation paths (outbox) which partners must be told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.privacy.disclosure import Disclosure
from gateway.store import audit
from gateway.store.engine import store_error
from gateway.store.tables import audit_log

DISCLOSURE_ACTION = "disclosure"
#: A partner erased its own contribution to a profile (gateway.delivery.partner_erasure).
PARTNER_ERASE_ACTION = "partner.erase"
#: A partner's query or erase answered "nothing" (absent, or not its to see: the same answer).
REFUSAL_ACTIONS = {"query": "refused.query", "erase": "refused.erase"}


@dataclass(frozen=True, slots=True)
class DisclosureRecord:
    """One disclosure as the audit log holds it."""

    at: datetime
    partner: str
    purpose: str
    fields: tuple[str, ...]
    message_id: str | None
    channel: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "partner": self.partner,
            "purpose": self.purpose,
            "fields": list(self.fields),
            "message_id": self.message_id,
            "channel": self.channel,
        }


def record_disclosure(
    conn: Connection,
    disclosure: Disclosure,
    *,
    message_id: str | None,
    channel: str,
    at: datetime | None = None,
) -> int:
    """Write the audit row of an allowed disclosure inside the caller's transaction.

    ``channel`` says how it left (``rest.query``, ``soap.GetProfile``, later ``outbox``).

    :raises ValueError: for a refused disclosure (nothing left, so there is nothing to record).
    """
    if not disclosure.consented or disclosure.purpose is None:
        raise ValueError(
            "only a disclosure a consent allowed is recorded (a withheld one, or an answer of "
            "the partner's own data only, discloses nothing)"
        )
    return audit.record(
        conn,
        actor=f"partner:{disclosure.partner}",
        action=DISCLOSURE_ACTION,
        golden_id=disclosure.golden_id,
        partner=disclosure.partner,
        purpose=disclosure.purpose.value,
        fields=disclosure.fields,
        message_id=message_id,
        detail={"channel": channel},
        at=at,
    )


def disclosures_of(engine: Engine, golden_id: str) -> list[DisclosureRecord]:
    """Every disclosure of one person's data, oldest first."""
    query = (
        select(audit_log)
        .where(audit_log.c.golden_id == golden_id, audit_log.c.action == DISCLOSURE_ACTION)
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
    except SQLAlchemyError as exc:
        raise store_error(f"reading disclosures of {golden_id}", exc) from exc
    return [
        DisclosureRecord(
            at=row["at"],
            partner=row["partner"],
            purpose=row["purpose"],
            fields=tuple(row["fields"] or ()),
            message_id=row["message_id"],
            channel=(row["detail"] or {}).get("channel"),
        )
        for row in rows
    ]


def partners_disclosed_to(conn: Connection, golden_id: str) -> list[str]:
    """The partners that received this person's data (to tell them of an erasure or revocation)."""
    query = (
        select(audit_log.c.partner)
        .where(audit_log.c.golden_id == golden_id, audit_log.c.action == DISCLOSURE_ACTION)
        .distinct()
    )
    return sorted(p for p in conn.execute(query).scalars() if p)


def record_refusal(
    conn: Connection,
    partner: str,
    operation: str,
    *,
    reason: str,
    message_id: str | None,
    golden_id: str | None = None,
    at: datetime | None = None,
) -> int:
    """Count one refusal of a partner's query or erase (the partner got the "nothing found"
    answer). ``reason`` (``absent`` or ``not_visible``) and ``golden_id`` are for the operators
    only: the partner's answer is the same either way."""
    return audit.record(
        conn,
        actor=f"partner:{partner}",
        action=REFUSAL_ACTIONS[operation],
        golden_id=golden_id,
        partner=partner,
        message_id=message_id,
        detail={"reason": reason},
        at=at,
    )


def refusal_counts(conn: Connection) -> list[tuple[str, str, int]]:
    """(partner, operation, count) of every refusal recorded (for the metrics)."""
    operations = {action: operation for operation, action in REFUSAL_ACTIONS.items()}
    a = audit_log.c
    rows = conn.execute(
        select(a.partner, a.action, func.count())
        .where(a.action.in_(list(operations)), a.partner.is_not(None))
        .group_by(a.partner, a.action)
    ).all()
    return [(row[0], operations[row[1]], int(row[2])) for row in rows]
