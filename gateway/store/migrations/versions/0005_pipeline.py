"""Ingest pipeline: outbox events written with each golden change, quarantined records, and the
inbound messages already processed (idempotency by message id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "outbox_event",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("available_at", _TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=True),
        sa.Column("locked_until", _TIMESTAMP, nullable=True),
        sa.Column("dispatched_at", _TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_event"),
    )
    op.create_index(
        "ix_outbox_event_dispatched_at_available_at",
        "outbox_event",
        ["dispatched_at", "available_at"],
    )
    op.create_index("ix_outbox_event_golden_id", "outbox_event", ["golden_id"])

    op.create_table(
        "quarantine_record",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("record_index", sa.Integer(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("mapping", sa.String(100), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("errors", _JSON, nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("decided_at", _TIMESTAMP, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("golden_id", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine_record"),
    )
    op.create_index("ix_quarantine_record_status_id", "quarantine_record", ["status", "id"])
    op.create_index(
        "ix_quarantine_record_source_system_raw_hash",
        "quarantine_record",
        ["source_system", "raw_hash"],
    )

    op.create_table(
        "inbound_message",
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", _TIMESTAMP, nullable=False),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("acknowledgement", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("source_system", "message_id", name="pk_inbound_message"),
    )


def downgrade() -> None:
    op.drop_table("inbound_message")
    op.drop_index("ix_quarantine_record_source_system_raw_hash", table_name="quarantine_record")
    op.drop_index("ix_quarantine_record_status_id", table_name="quarantine_record")
    op.drop_table("quarantine_record")
    op.drop_index("ix_outbox_event_golden_id", table_name="outbox_event")
    op.drop_index("ix_outbox_event_dispatched_at_available_at", table_name="outbox_event")
    op.drop_table("outbox_event")
