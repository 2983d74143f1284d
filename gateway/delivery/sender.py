"""The sender: claim due deliveries, build each from the profile as it is now, send, record.

Claiming is a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE``
on SQLite) that stamps the rows with this dispatcher and a lease; the network call happens
outside any transaction; the outcome is written in a second one, only while the lease is still
ours. A dispatcher that dies mid-send leaves rows whose lease runs out and another takes them:
the partner may then see a message id twice (at-least-once), which the id lets it drop.

Order per (person, partner): a delivery is due only when no older delivery of the same pair is
still pending (in flight or waiting to retry), so a later change never overtakes an earlier one.
A dead letter does not block the ones after it (they carry the newer state, read at send time).

Consent is checked again at send time: a profile delivery whose consent was revoked, or whose
person was erased, since it was queued is ``withheld`` with the reason, never sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.backoff import retry_delay
from gateway.delivery.errors import DeliveryError
from gateway.delivery.history import load_person
from gateway.delivery.payload import Outgoing, PayloadBuilder
from gateway.delivery.routing import DeliveryKind
from gateway.delivery.settings import DeliverySettings
from gateway.delivery.transports import Transport
from gateway.errors import GatewayError
from gateway.model import Purpose
from gateway.partners.registry import PartnerRegistry
from gateway.privacy import disclose, load_evidence, record_disclosure
from gateway.store import audit
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import delivery
from gateway.telemetry import DELIVERY_ATTEMPT, DELIVERY_LATENCY

log = logging.getLogger(__name__)

NOTICE_ACTION = "delivery.notice"
CHANNEL = "outbox"


@dataclass(frozen=True, slots=True)
class SendResult:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    withheld: int = 0


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    golden_id: str
    partner: str
    kind: DeliveryKind
    purpose: str | None
    message_id: str
    attempts: int
    created_at: datetime


class _Withheld(Exception):
    """Nothing may be sent any more (consent gone, person erased): not an error of delivery."""


class Sender:
    def __init__(self, engine: Engine, partners: PartnerRegistry, settings: DeliverySettings,
                 builder: PayloadBuilder, transport: Transport, *, owner: str,
                 consent_sources: frozenset[str]) -> None:
        self._engine = engine
        self._consent_sources = consent_sources
        self._partners = partners
        self._settings = settings
        self._builder = builder
        self._transport = transport
        self.owner = owner

    def send_due(self, now: datetime) -> SendResult:
        """Claim up to ``batch`` due deliveries and send each; returns what became of them."""
        counts = {"delivered": 0, "retrying": 0, "dead": 0, "withheld": 0}
        claimed = self._claim(now)
        for item in claimed:
            counts[self._send_one(item, now)] += 1
        return SendResult(len(claimed), **counts)

    # --- claiming ------------------------------------------------------------------------------

    def _claim(self, now: datetime) -> list[_Claimed]:
        d = delivery.c
        earlier = delivery.alias("earlier")
        query = (
            select(d.id, d.golden_id, d.partner, d.kind, d.purpose, d.message_id, d.attempts,
                   d.created_at)
            .where(
                d.status == "pending",
                d.available_at <= now,
                (d.locked_until.is_(None)) | (d.locked_until < now),
                ~exists().where(and_(
                    earlier.c.golden_id == d.golden_id,
                    earlier.c.partner == d.partner,
                    earlier.c.status == "pending",
                    earlier.c.id < d.id,
                )),
            )
            .order_by(d.id)
            .limit(self._settings.batch)
        )
        lease = now + timedelta(seconds=self._settings.lease_seconds)
        try:
            with write_transaction(self._engine) as conn:
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True, of=delivery)
                rows = conn.execute(query).all()
                if rows:
                    conn.execute(
                        update(delivery)
                        .where(d.id.in_([r.id for r in rows]))
                        .values(locked_by=self.owner, locked_until=lease)
                    )
        except SQLAlchemyError as exc:
            raise store_error("claiming due deliveries", exc) from exc
        return [_Claimed(r.id, r.golden_id, r.partner, DeliveryKind(r.kind), r.purpose,
                         r.message_id, r.attempts, r.created_at) for r in rows]

    # --- sending -------------------------------------------------------------------------------

    def _send_one(self, item: _Claimed, now: datetime) -> str:
        started = time.perf_counter()
        outcome = self._attempt(item, now)
        DELIVERY_ATTEMPT.labels(item.partner, outcome).observe(time.perf_counter() - started)
        if outcome == "delivered":
            DELIVERY_LATENCY.labels(item.partner).observe(
                max((now - item.created_at).total_seconds(), 0.0))
        return outcome

    def _attempt(self, item: _Claimed, now: datetime) -> str:
        try:
            outgoing, disclosure = self._build(item, now)
            self._transport.send(self._partners.require(item.partner), outgoing)
        except _Withheld as reason:
            return self._finish(item, "withheld", now, error=str(reason))
        except DeliveryError as exc:
            return self._failed(item, exc, now)
        except GatewayError as exc:  # a partner file, mapping or schema problem: fix, then retry
            return self._failed(item, DeliveryError(exc.message, partner=item.partner,
                                                    retryable=False), now)
        except Exception as exc:  # a bug of ours: keep the row, count the attempt, say what
            log.exception("delivery %s to %s: unexpected error", item.id, item.partner)
            return self._failed(item, DeliveryError(f"internal error ({type(exc).__name__})",
                                                    partner=item.partner, retryable=True), now)
        log.info("delivery %s (%s) to %s delivered", item.id, item.kind, item.partner)
        return self._finish(item, "delivered", now, disclosure=disclosure)

    def _build(self, item: _Claimed, now: datetime) -> tuple[Outgoing, Any]:
        partner = self._partners.require(item.partner)
        with self._engine.connect() as conn:
            person = load_person(conn, item.golden_id)
            evidence = load_evidence(conn, [item.golden_id], self._consent_sources)
        if item.kind is DeliveryKind.ERASE:
            return self._builder.erase(partner, item.golden_id, item.message_id, now), None
        if person is None or person.profile is None:
            raise _Withheld("the person was erased (or merged away) before it was sent")
        if item.kind is DeliveryKind.OPTOUT:
            return self._builder.optout(partner, person.profile, item.message_id, now,
                                        trusted=evidence[item.golden_id].consents), None
        purposes = [Purpose(item.purpose)] if item.purpose else list(partner.policy.purposes)
        disclosure = None
        for purpose in purposes:
            disclosure = disclose(person.profile, partner.policy, purpose, now,
                                  evidence[item.golden_id])
            if disclosure.allowed:
                break
        if disclosure is None or disclosure.profile is None:
            reason = disclosure.withheld if disclosure is not None else "no purpose"
            raise _Withheld(f"not disclosed at send time: {reason}")
        return self._builder.profile(partner, disclosure.profile, item.message_id, now), disclosure

    # --- recording -----------------------------------------------------------------------------

    def _failed(self, item: _Claimed, error: DeliveryError, now: datetime) -> str:
        attempts = item.attempts + 1
        if not error.retryable or attempts >= self._settings.max_attempts:
            log.warning("delivery %s to %s dead after %d attempts: %s", item.id, item.partner,
                        attempts, error.message)
            return self._finish(item, "dead", now, error=error.message, attempts=attempts)
        delay = retry_delay(attempts, base_seconds=self._settings.backoff_seconds,
                            max_seconds=self._settings.backoff_max_seconds,
                            jitter=self._settings.jitter)
        log.info("delivery %s to %s failed (attempt %d), retry in %.1f s: %s", item.id,
                 item.partner, attempts, delay.total_seconds(), error.message)
        self._write(item, {"attempts": attempts, "available_at": now + delay,
                           "last_error": error.message, "locked_by": None,
                           "locked_until": None})
        return "retrying"

    def _finish(self, item: _Claimed, status: str, now: datetime, *, error: str | None = None,
                disclosure: Any = None, attempts: int | None = None) -> str:
        values: dict[str, Any] = {
            "status": status, "finished_at": now, "locked_until": None,  # locked_by: who sent it
            "attempts": attempts if attempts is not None else item.attempts + 1,
            "last_error": error,
        }
        if disclosure is not None:
            values["fields"] = list(disclosure.fields)

        def also(conn: Connection) -> None:
            if status != "delivered":
                return
            if disclosure is not None:
                record_disclosure(conn, disclosure, message_id=item.message_id, channel=CHANNEL,
                                  at=now)
            else:
                audit.record(conn, actor="dispatcher", action=NOTICE_ACTION,
                             golden_id=item.golden_id, partner=item.partner,
                             message_id=item.message_id, detail={"kind": item.kind.value},
                             at=now)

        self._write(item, values, also)
        return status

    def _write(self, item: _Claimed, values: dict[str, Any], also: Any = None) -> None:
        """Update the row while our lease holds (and run ``also`` in the same transaction)."""
        d = delivery.c
        try:
            with write_transaction(self._engine) as conn:
                changed = conn.execute(
                    update(delivery)
                    .where(d.id == item.id, d.locked_by == self.owner, d.status == "pending")
                    .values(**values)
                ).rowcount
                if changed and also is not None:
                    also(conn)
        except SQLAlchemyError as exc:
            raise store_error(f"recording delivery {item.id}", exc) from exc
        if not changed:
            log.warning("delivery %s: lease lost before its outcome was recorded (another "
                        "dispatcher took it over; the partner may see message %s again)",
                        item.id, item.message_id)
