"""The review queue: pairs of golden profiles that may be one customer, for a person to decide.

An item is opened when a new record scores between the two thresholds against a golden profile
(the record then has a golden profile of its own), or quotes identifiers owned by two golden
profiles. Approving merges the two (the older id survives, the other becomes its alias);
rejecting keeps them apart and remembers the pair, so it is never proposed again. Items keep the
score details (total and per component) and never the compared values: those are in the two
golden profiles, which :meth:`ReviewQueue.list` returns alongside.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import ConflictError, NotFoundError
from gateway.identity import golden
from gateway.identity.decision import Proposal
from gateway.identity.rules import IdentityRules
from gateway.model import Profile, from_dict
from gateway.pipeline import outbox
from gateway.store import audit
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import golden_alias, golden_profile, review_item

ReviewStatus = Literal["open", "approved", "rejected", "superseded"]


class ReviewDecidedError(ConflictError):
    """An approve or reject of an item that is no longer open (HTTP 409): another steward
    decided it first."""

    code = "review_decided"

    def __init__(self, item_id: int, status: str) -> None:
        self.item_id = item_id
        self.status = status
        super().__init__(f"review item {item_id} is {status}, not open")


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One proposed pair. ``golden`` and ``candidate`` are the two profiles as they are now
    (an id merged away since answers with its survivor; None if it no longer exists)."""

    id: int
    status: ReviewStatus
    golden_id: str
    candidate_id: str
    score: float | None
    details: Mapping[str, Any]
    source_record_id: int | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    golden: Profile | None
    candidate: Profile | None


def open_item(
    conn: Connection,
    golden_id: str,
    proposal: Proposal,
    source_record_id: int | None,
    *,
    actor: str,
    now: datetime,
) -> int:
    """Open a review item inside the caller's transaction (audited); returns its id."""
    item_id = int(
        conn.execute(
            insert(review_item).returning(review_item.c.id),
            {
                "status": "open",
                "golden_id": golden_id,
                "candidate_id": proposal.candidate_id,
                "source_record_id": source_record_id,
                "score": proposal.score.total if proposal.score is not None else None,
                "details": proposal.details(),
                "created_at": now,
            },
        ).scalar_one()
    )
    audit.record(
        conn,
        actor=actor,
        action="review.open",
        golden_id=golden_id,
        detail={"review_item_id": item_id, "candidate_id": proposal.candidate_id},
        at=now,
    )
    return item_id


class ReviewQueue:
    """Listing and deciding review items."""

    def __init__(self, engine: Engine, rules: IdentityRules | None = None) -> None:
        self._engine = engine
        self._rules = rules or IdentityRules()

    def list(
        self, status: ReviewStatus = "open", *, limit: int = 100, offset: int = 0
    ) -> builtins.list[ReviewItem]:
        """Items with that status, oldest first, each with both profiles and the score details."""
        query = (
            select(review_item)
            .where(review_item.c.status == status)
            .order_by(review_item.c.id)
            .limit(limit)
            .offset(offset)
        )
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
                profiles = _profiles(
                    conn, {gid for r in rows for gid in (r["golden_id"], r["candidate_id"])}
                )
        except SQLAlchemyError as exc:
            raise store_error(f"listing {status} review items", exc) from exc
        return [_item(row, profiles) for row in rows]

    def get(self, item_id: int) -> ReviewItem:
        """One item.

        :raises NotFoundError: no item has that id.
        """
        try:
            with self._engine.connect() as conn:
                row = (
                    conn.execute(select(review_item).where(review_item.c.id == item_id))
                    .mappings()
                    .first()
                )
                if row is None:
                    raise NotFoundError("review item", str(item_id))
                profiles = _profiles(conn, {row["golden_id"], row["candidate_id"]})
        except SQLAlchemyError as exc:
            raise store_error(f"reading review item {item_id}", exc) from exc
        return _item(row, profiles)

    def approve(self, item_id: int, actor: str) -> str:
        """Merge the item's two golden profiles; returns the surviving (older) id.

        :raises NotFoundError: no item has that id.
        :raises ReviewDecidedError: the item was already decided.
        """
        try:
            with write_transaction(self._engine) as conn:
                now = datetime.now(UTC)
                row = _open_row(conn, item_id)
                ids = sorted(
                    {golden.resolve(conn, row.golden_id), golden.resolve(conn, row.candidate_id)}
                )
                # Decided before the merge, which settles the *other* open items of the pair.
                _decide(conn, item_id, "approved", actor, now)
                if len(ids) == 2:
                    change = golden.merge(
                        conn,
                        ids[0],
                        ids[1],
                        self._rules,
                        now,
                        actor=actor,
                        detail={"review_item_id": item_id},
                    )
                    outbox.write_changes(
                        conn, (change,), cause={"review_item_id": item_id}, now=now
                    )
                audit.record(
                    conn,
                    actor=actor,
                    action="review.approve",
                    golden_id=ids[0],
                    detail={"review_item_id": item_id, "merged_ids": ids},
                    at=now,
                )
        except SQLAlchemyError as exc:
            raise store_error(f"approving review item {item_id}", exc) from exc
        return ids[0]

    def reject(self, item_id: int, actor: str) -> None:
        """Keep the two apart and remember the pair.

        :raises NotFoundError: no item has that id.
        :raises ReviewDecidedError: the item was already decided.
        """
        try:
            with write_transaction(self._engine) as conn:
                now = datetime.now(UTC)
                row = _open_row(conn, item_id)
                a, b = golden.resolve(conn, row.golden_id), golden.resolve(conn, row.candidate_id)
                _decide(conn, item_id, "rejected", actor, now)
                if a != b:
                    golden.remember_rejection(
                        conn, a, b, actor=actor, now=now, review_item_id=item_id
                    )
                audit.record(
                    conn,
                    actor=actor,
                    action="review.reject",
                    golden_id=a,
                    detail={"review_item_id": item_id, "candidate_id": b},
                    at=now,
                )
        except SQLAlchemyError as exc:
            raise store_error(f"rejecting review item {item_id}", exc) from exc


def _open_row(conn: Connection, item_id: int) -> Any:
    row = conn.execute(
        select(review_item.c.status, review_item.c.golden_id, review_item.c.candidate_id)
        .where(review_item.c.id == item_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("review item", str(item_id))
    if row.status != "open":
        raise ReviewDecidedError(item_id, row.status)
    return row


def _decide(conn: Connection, item_id: int, status: str, actor: str, now: datetime) -> None:
    conn.execute(
        update(review_item)
        .where(review_item.c.id == item_id)
        .values(status=status, decided_at=now, decided_by=actor)
    )


def _profiles(conn: Connection, ids: set[str]) -> dict[str, Profile]:
    """Current profiles by the ids asked for (aliases answer with their survivor): two
    statements for the whole page."""
    if not ids:
        return {}
    survivor = dict(
        conn.execute(
            select(golden_alias.c.alias_id, golden_alias.c.golden_id).where(
                golden_alias.c.alias_id.in_(ids)
            )
        ).all()
    )
    current = {gid: survivor.get(gid, gid) for gid in ids}
    documents = dict(
        conn.execute(
            select(golden_profile.c.id, golden_profile.c.document).where(
                golden_profile.c.id.in_(set(current.values()))
            )
        ).all()
    )
    return {
        gid: dataclasses.replace(from_dict(Profile, documents[now]), id=now)
        for gid, now in current.items()
        if now in documents
    }


def _item(row: Any, profiles: Mapping[str, Profile]) -> ReviewItem:
    """A review item from its row (a mapping of the review_item columns)."""
    return ReviewItem(
        id=row["id"],
        status=row["status"],
        golden_id=row["golden_id"],
        candidate_id=row["candidate_id"],
        score=row["score"],
        details=row["details"],
        source_record_id=row["source_record_id"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        golden=profiles.get(row["golden_id"]),
        candidate=profiles.get(row["candidate_id"]),
    )
