"""Outbound delivery: one row per partner delivery of an outbox event, notice or replay.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", _ROW_ID, nullable=True),
        sa.Column("replay_of", _ROW_ID, nullable=True),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("available_at", _TIMESTAMP, nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=True),
        sa.Column("locked_until", _TIMESTAMP, nullable=True),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
        sa.Column("fields", _JSON, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
        sa.UniqueConstraint("message_id", name="uq_delivery_message_id"),
        sa.UniqueConstraint("event_id", "partner", name="uq_delivery_event_id_partner"),
    )
    op.create_index("ix_delivery_status_available_at", "delivery", ["status", "available_at"])
    op.create_index("ix_delivery_golden_id_partner_id", "delivery", ["golden_id", "partner", "id"])
    op.create_index("ix_delivery_partner_status", "delivery", ["partner", "status"])


def downgrade() -> None:
    op.drop_index("ix_delivery_partner_status", table_name="delivery")
    op.drop_index("ix_delivery_golden_id_partner_id", table_name="delivery")
    op.drop_index("ix_delivery_status_available_at", table_name="delivery")
    op.drop_table("delivery")
