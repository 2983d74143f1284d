"""Deliveries as ops see them: listing, one by id, retry of a dead letter, replay.

Retry puts a dead delivery back in the queue under its *own* message id (the partner never
accepted it, so nothing to dedupe against). Replay sends a finished delivery again as a *new*
delivery with a new message id, on purpose: the partner lost or wants the data again, and must
not drop it as a repeat. Both go through the same sender, so consent is checked again at send
time and a replayed disclosure is audited like any other.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.errors import DeliveryStateError
from gateway.errors import NotFoundError
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import delivery

STATUSES = ("pending", "delivered", "dead", "withheld")
FINISHED = ("delivered", "dead", "withheld")


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_id: int | None
    replay_of: int | None
    golden_id: str
    partner: str
    kind: str
    purpose: str | None
    message_id: str
    status: str
    attempts: int
    created_at: datetime
    available_at: datetime
    finished_at: datetime | None
    fields: list[str] | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "available_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


_COLUMNS = [getattr(delivery.c, name) for name in Delivery.__dataclass_fields__]


def list_deliveries(
    engine: Engine,
    *,
    status: str | None = None,
    partner: str | None = None,
    golden_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Delivery]:
    """Deliveries, newest first, filtered by status, partner and person.

    :raises ValueError: an unknown status.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status '{status}' (known: {', '.join(STATUSES)})")
    d = delivery.c
    query = select(*_COLUMNS).order_by(d.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(d.status == status)
    if partner is not None:
        query = query.where(d.partner == partner)
    if golden_id is not None:
        query = query.where(d.golden_id == golden_id)
    try:
        with engine.connect() as conn:
            return [Delivery(*row) for row in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise store_error("listing deliveries", exc) from exc


def get_delivery(engine: Engine, delivery_id: int) -> Delivery:
    """:raises NotFoundError: no delivery has that id."""
    try:
        with engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(delivery.c.id == delivery_id)).first()
    except SQLAlchemyError as exc:
        raise store_error(f"reading delivery {delivery_id}", exc) from exc
    if row is None:
        raise NotFoundError("delivery", str(delivery_id))
    return Delivery(*row)


def retry_delivery(engine: Engine, delivery_id: int, now: datetime) -> Delivery:
    """A dead letter back in the queue, due now, attempts counted from zero again.

    :raises NotFoundError: no such delivery. :raises DeliveryStateError: it is not dead.
    """
    try:
        with write_transaction(engine) as conn:
            changed = conn.execute(
                update(delivery)
                .where(delivery.c.id == delivery_id, delivery.c.status == "dead")
                .values(status="pending", attempts=0, available_at=now, finished_at=None,
                        locked_by=None, locked_until=None)
            ).rowcount
    except SQLAlchemyError as exc:
        raise store_error(f"retrying delivery {delivery_id}", exc) from exc
    if not changed:
        current = get_delivery(engine, delivery_id)
        raise DeliveryStateError(
            f"delivery {delivery_id} is {current.status}: only a dead delivery can be retried"
            + (" (replay a finished one instead)" if current.status in FINISHED else "")
        )
    return get_delivery(engine, delivery_id)


def replay_delivery(engine: Engine, delivery_id: int, now: datetime) -> Delivery:
    """A new delivery repeating a finished one, with a new message id.

    :raises NotFoundError: no such delivery. :raises DeliveryStateError: it is still pending.
    """
    original = get_delivery(engine, delivery_id)
    if original.status not in FINISHED:
        raise DeliveryStateError(
            f"delivery {delivery_id} is {original.status}: wait until it is finished"
        )
    message_id = f"{original.message_id[:80]}.replay-{uuid.uuid4().hex[:12]}"
    try:
        with write_transaction(engine) as conn:
            new_id = conn.execute(
                insert(delivery).returning(delivery.c.id),
                {"event_id": None, "replay_of": original.id, "golden_id": original.golden_id,
                 "partner": original.partner, "kind": original.kind,
                 "purpose": original.purpose, "message_id": message_id, "status": "pending",
                 "attempts": 0, "created_at": now, "available_at": now},
            ).scalar_one()
    except SQLAlchemyError as exc:
        raise store_error(f"replaying delivery {delivery_id}", exc) from exc
    return get_delivery(engine, int(new_id))
