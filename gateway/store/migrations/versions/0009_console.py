"""Admin console: server-side sessions and review claims.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(24), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_session")),
    )
    op.create_index(op.f("ix_console_session_key_id"), "console_session", ["key_id"])
    op.create_table(
        "review_claim",
        sa.Column("review_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("claimed_until", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("review_item_id", name=op.f("pk_review_claim")),
    )


def downgrade() -> None:
    op.drop_table("review_claim")
    op.drop_index(op.f("ix_console_session_key_id"), table_name="console_session")
    op.drop_table("console_session")
