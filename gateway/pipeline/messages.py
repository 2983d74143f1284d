"""Inbound messages by id: a batch processed once answers every re-send with the stored
acknowledgement and changes nothing.

A batch is marked ``processing`` when it starts and ``done`` with its acknowledgement when it
ends, or ``failed`` when it stops on an error (a file refused half-way). A batch cut off in
between (kill -9, a lost connection) is still ``processing``. A re-send of either runs it again,
and the records already stored come out ``unchanged`` (content hash), so the batch completes
without duplicates. The row is written in its own short transactions, never held open across the
batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.pipeline.tables import inbound_message
from gateway.store.engine import store_error, write_transaction

MESSAGE_ID_LENGTH = 200


class MessageStatus(StrEnum):
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


def begin(engine: Engine, message_id: str, source_system: str) -> dict[str, Any] | None:
    """The stored acknowledgement if the message was processed before; else mark it as being
    processed (again) and return None."""
    m = inbound_message.c
    try:
        with write_transaction(engine) as conn:
            row = conn.execute(
                select(m.status, m.acknowledgement).where(
                    m.source_system == source_system, m.message_id == message_id
                )
            ).first()
            if row is not None and row.status == MessageStatus.DONE:
                ack: dict[str, Any] = row.acknowledgement
                return ack
            if row is None:
                conn.execute(
                    insert(inbound_message),
                    {
                        "message_id": message_id,
                        "source_system": source_system,
                        "status": MessageStatus.PROCESSING,
                        "received_at": datetime.now(UTC),
                    },
                )
            elif row.status == MessageStatus.FAILED:
                _set_status(conn, message_id, source_system, MessageStatus.PROCESSING)
    except IntegrityError:
        return None  # another process started the same message: both converge on unchanged
    except SQLAlchemyError as exc:
        raise store_error(f"recording inbound message {message_id}", exc) from exc
    return None


def finish(
    engine: Engine,
    message_id: str,
    source_system: str,
    acknowledgement: dict[str, Any],
    records: int,
) -> None:
    """Store the acknowledgement: from now on re-sends get it back."""
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                update(inbound_message)
                .where(
                    inbound_message.c.source_system == source_system,
                    inbound_message.c.message_id == message_id,
                )
                .values(
                    status=MessageStatus.DONE,
                    finished_at=datetime.now(UTC),
                    records=records,
                    acknowledgement=acknowledgement,
                )
            )
    except SQLAlchemyError as exc:
        raise store_error(f"storing the acknowledgement of message {message_id}", exc) from exc


def fail(engine: Engine, message_id: str, source_system: str) -> None:
    """Mark a message whose batch stopped on an error as ``failed`` (a re-send runs it again)."""
    try:
        with write_transaction(engine) as conn:
            _set_status(conn, message_id, source_system, MessageStatus.FAILED)
    except SQLAlchemyError as exc:
        raise store_error(f"marking inbound message {message_id} failed", exc) from exc


def _set_status(
    conn: Connection, message_id: str, source_system: str, status: MessageStatus
) -> None:
    conn.execute(
        update(inbound_message)
        .where(
            inbound_message.c.source_system == source_system,
            inbound_message.c.message_id == message_id,
            inbound_message.c.status != MessageStatus.DONE,
        )
        .values(status=status, finished_at=datetime.now(UTC) if status == "failed" else None)
    )
