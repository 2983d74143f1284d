"""Erasure requests: what a partner's erase leaves for a steward to decide.

A partner erases only what it contributed (:mod:`gateway.delivery.partner_erasure`). When the person
holds data from other sources too, the partner's erase files a request here (one open request
per person and partner); a steward approves it (the whole person is erased, with the erase
notices of :func:`gateway.delivery.rights.erase_in_transaction`) or rejects it. With
``[privacy] partner_erasure = "erase"`` the gateway approves at once instead of filing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.rights import erase_in_transaction
from gateway.errors import ConflictError, NotFoundError
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import erasure_request


class RequestStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class ErasureRequestDecidedError(ConflictError):
    """The request was decided already (HTTP 409, like a decided review item)."""

    code = "erasure_request_decided"

    def __init__(self, request_id: int, status: str) -> None:
        self.request_id = request_id
        self.status = status
        super().__init__(f"erasure request {request_id} is {status} already")


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    id: int
    golden_id: str
    partner: str
    message_id: str | None
    status: RequestStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "golden_id": self.golden_id,
            "partner": self.partner,
            "message_id": self.message_id,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
        }


def file_request(
    conn: Connection, golden_id: str, partner: str, *, message_id: str | None, now: datetime
) -> int:
    """File (inside the caller's transaction) an open request to erase ``golden_id``; the
    existing open request of the same partner for the same person is kept instead of a second."""
    r = erasure_request.c
    existing = conn.execute(
        select(r.id).where(
            r.golden_id == golden_id, r.partner == partner, r.status == RequestStatus.OPEN
        )
    ).scalar()
    if existing is not None:
        return int(existing)
    return int(
        conn.execute(
            insert(erasure_request).values(
                golden_id=golden_id,
                partner=partner,
                message_id=message_id,
                status=RequestStatus.OPEN.value,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


class ErasureRequests:
    """The stewards' queue of erasure requests."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(
        self, status: RequestStatus | None = RequestStatus.OPEN, limit: int = 100, offset: int = 0
    ) -> list[ErasureRequest]:
        query = select(erasure_request).order_by(erasure_request.c.id).limit(limit).offset(offset)
        if status is not None:
            query = query.where(erasure_request.c.status == status.value)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
        except SQLAlchemyError as exc:
            raise store_error("listing erasure requests", exc) from exc
        return [_request(row) for row in rows]

    def get(self, request_id: int) -> ErasureRequest:
        """:raises NotFoundError: no such request."""
        try:
            with self._engine.connect() as conn:
                return _get(conn, request_id)
        except SQLAlchemyError as exc:
            raise store_error(f"reading erasure request {request_id}", exc) from exc

    def approve(self, request_id: int, *, actor: str) -> ErasureRequest:
        """Erase the person the request names (and send the erase notices).

        :raises NotFoundError: no such request.
        :raises ErasureRequestDecidedError: decided already (by another steward too: the row is
            claimed with a conditional update, so two approvals at once erase once).
        """
        return self._decide(request_id, RequestStatus.APPROVED, actor)

    def reject(self, request_id: int, *, actor: str) -> ErasureRequest:
        """Keep the person; the request is closed.

        :raises NotFoundError: no such request.
        :raises ErasureRequestDecidedError: decided already.
        """
        return self._decide(request_id, RequestStatus.REJECTED, actor)

    def _decide(self, request_id: int, status: RequestStatus, actor: str) -> ErasureRequest:
        now = datetime.now(UTC)
        r = erasure_request.c
        try:
            with write_transaction(self._engine) as conn:
                current = _get(conn, request_id)
                claimed = conn.execute(
                    update(erasure_request)
                    .where(r.id == request_id, r.status == RequestStatus.OPEN.value)
                    .values(status=status.value, decided_at=now, decided_by=actor)
                )
                if claimed.rowcount != 1:
                    raise ErasureRequestDecidedError(request_id, current.status)
                if status is RequestStatus.APPROVED:
                    erase_in_transaction(
                        conn, current.golden_id, actor=actor, requested_by=current.partner,
                        message_id=current.message_id, now=now,
                    )
                return _get(conn, request_id)
        except SQLAlchemyError as exc:
            raise store_error(f"deciding erasure request {request_id}", exc) from exc


def _get(conn: Connection, request_id: int) -> ErasureRequest:
    row = conn.execute(
        select(erasure_request).where(erasure_request.c.id == request_id)
    ).mappings().first()
    if row is None:
        raise NotFoundError("erasure request", str(request_id))
    return _request(row)


def _request(row: Any) -> ErasureRequest:
    return ErasureRequest(
        id=row["id"],
        golden_id=row["golden_id"],
        partner=row["partner"],
        message_id=row["message_id"],
        status=RequestStatus(row["status"]),
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
    )
