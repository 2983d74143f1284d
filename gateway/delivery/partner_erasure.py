"""A partner's erase: it removes what the partner contributed, and asks for the rest.

A partner is one source among several: "erase this person" from it is the person's request to
that partner, and evidence of a wish about the rest. So, in the erase's transaction:

- the partner's own source records of the person go (their match keys with them), the golden
  profile is rebuilt from the other records (its identifiers of the partner's system are
  released with them) and the change goes to the outbox;
- when nothing else is left, the person existed only through this partner and is erased whole
  (:func:`gateway.delivery.rights.erase_in_transaction`, with the erase notices);
- otherwise the rest is an erasure request for a steward
  (:mod:`gateway.delivery.erasure_requests`), or with ``[privacy] partner_erasure = "erase"``
  the whole person is erased at once.

A partner with no record of the person gets the answer a person who does not exist gets
: the gateway never tells it that someone it may not see exists. Each such
refusal is counted (:func:`gateway.privacy.audit.record_refusal`; the ``partner_refusals``
metric).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, delete, exists, func, select

from gateway.delivery.erasure_requests import file_request
from gateway.delivery.rights import erase_in_transaction
from gateway.identity import golden
from gateway.identity.rules import IdentityRules
from gateway.pipeline.outbox import write_changes
from gateway.privacy.audit import PARTNER_ERASE_ACTION
from gateway.store import audit
from gateway.store.tables import audit_log, match_key, source_record

log = logging.getLogger(__name__)

RestPolicy = Literal["request", "erase"]


@dataclass(frozen=True, slots=True)
class ContributionErased:
    golden_id: str
    source_records: int  # the partner's records removed
    rest: Literal["none", "requested", "erased"]  # what became of the other sources' data


def contributed(conn: Connection, golden_id: str, system: str) -> bool:
    """True when ``system`` has a source record linked to the golden profile."""
    s = source_record.c
    return bool(
        conn.execute(
            select(exists().where(s.golden_id == golden_id, s.source_system == system))
        ).scalar()
    )


def erased_by(conn: Connection, golden_id: str, partner: str) -> bool:
    """True when ``partner`` erased its contribution to this profile before (a repeated erase
    by profile id answers as the first did)."""
    a = audit_log.c
    return bool(
        conn.execute(
            select(
                exists().where(
                    a.golden_id == golden_id,
                    a.action == PARTNER_ERASE_ACTION,
                    a.partner == partner,
                )
            )
        ).scalar()
    )


def erase_contribution(
    conn: Connection,
    golden_id: str,
    *,
    partner: str,
    system: str,
    rules: IdentityRules,
    rest: RestPolicy,
    message_id: str | None,
    now: datetime,
) -> ContributionErased:
    """Remove ``system``'s records of the person and deal with the rest (see the module doc).

    The caller checked :func:`contributed`.
    """
    golden.lock(conn, golden_id)
    s = source_record.c
    mine = select(s.id).where(s.golden_id == golden_id, s.source_system == system)
    conn.execute(delete(match_key).where(match_key.c.source_record_id.in_(mine)))
    removed = conn.execute(
        delete(source_record).where(s.golden_id == golden_id, s.source_system == system)
    ).rowcount
    others = conn.execute(
        select(func.count()).select_from(source_record).where(s.golden_id == golden_id)
    ).scalar_one()
    actor = f"partner:{partner}"
    outcome: Literal["none", "requested", "erased"]
    if others == 0:
        outcome = "none"
    else:
        change = golden.recompute(conn, golden_id, rules, now)
        write_changes(conn, [change], cause={"action": "partner_erase", "partner": partner},
                      now=now)
        outcome = "requested" if rest == "request" else "erased"
    audit.record(
        conn,
        actor=actor,
        action=PARTNER_ERASE_ACTION,
        golden_id=golden_id,
        partner=partner,
        message_id=message_id,
        detail={"source_records": removed, "rest": outcome},
        at=now,
    )
    if outcome == "requested":
        request_id = file_request(conn, golden_id, partner, message_id=message_id, now=now)
        log.info("partner %s erased its records of %s; erasure request %d filed for the rest",
                 partner, golden_id, request_id)
    else:
        erase_in_transaction(
            conn, golden_id, actor=actor, requested_by=partner, message_id=message_id, now=now
        )
    return ContributionErased(golden_id, removed, outcome)

