"""Claims on review items: a steward holds an item for a while so no one else decides it.

Kept in ``review_claim``; a claim lapses at ``claimed_until``. Claiming an item someone else
holds answers who holds it; the holder may claim again to extend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.errors import ConflictError
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import review_claim

HOLD = timedelta(minutes=15)


class ClaimedByOtherError(ConflictError):
    """The review item is held by another steward (HTTP 409)."""

    code = "review_claimed"


@dataclass(frozen=True, slots=True)
class Claim:
    item_id: int
    actor: str
    until: datetime


class Claims:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def holders(self, item_ids: list[int], now: datetime) -> dict[int, Claim]:
        """The live claims on these items."""
        c = review_claim.c
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    select(review_claim).where(
                        c.review_item_id.in_(item_ids), c.claimed_until > now
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise store_error("reading review claims", exc) from exc
        return {r.review_item_id: Claim(r.review_item_id, r.actor, r.claimed_until) for r in rows}

    def claim(self, item_id: int, actor: str, now: datetime) -> Claim:
        """Hold the item for :data:`HOLD`.

        :raises ClaimedByOtherError: someone else holds it.
        """
        c = review_claim.c
        until = now + HOLD
        try:
            with write_transaction(self._engine) as conn:
                row = conn.execute(
                    select(review_claim).where(c.review_item_id == item_id).with_for_update()
                ).first()
                if row is None:
                    conn.execute(
                        insert(review_claim).values(
                            review_item_id=item_id, actor=actor, claimed_until=until
                        )
                    )
                elif row.actor == actor or row.claimed_until <= now:
                    conn.execute(
                        update(review_claim)
                        .where(c.review_item_id == item_id)
                        .values(actor=actor, claimed_until=until)
                    )
                else:
                    raise _held(Claim(item_id, row.actor, row.claimed_until))
        except IntegrityError:  # claimed at the same moment by another steward
            held = self.holders([item_id], now).get(item_id)
            if held is not None and held.actor != actor:
                raise _held(held) from None
            raise
        except SQLAlchemyError as exc:
            raise store_error(f"claiming review item {item_id}", exc) from exc
        return Claim(item_id, actor, until)

    def check(self, item_id: int, actor: str, now: datetime) -> None:
        """:raises ClaimedByOtherError: another steward holds the item."""
        held = self.holders([item_id], now).get(item_id)
        if held is not None and held.actor != actor:
            raise _held(held)

    def release(self, item_id: int) -> None:
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(delete(review_claim).where(review_claim.c.review_item_id == item_id))
        except SQLAlchemyError as exc:
            raise store_error(f"releasing review item {item_id}", exc) from exc


def _held(claim: Claim) -> ClaimedByOtherError:
    return ClaimedByOtherError(
        f"review item {claim.item_id} is claimed by {claim.actor} until "
        f"{claim.until.strftime('%H:%M')} UTC"
    )
