"""ERP snapshot (customer figures and extraction watermarks), scheduled job state and run history,
and the files taken from drop inboxes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(18, 2)


def upgrade() -> None:
    op.create_table(
        "erp_customer",
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("customer_key", sa.String(255), nullable=False),
        sa.Column("credit_status", sa.String(16), nullable=False),
        sa.Column("balance", _MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("open_invoices", sa.Integer(), nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=True),
        sa.Column("lifetime_value", _MONEY, nullable=True),
        sa.Column("last_order_date", sa.Date(), nullable=True),
        sa.Column("extracted_at", _TIMESTAMP, nullable=False),
        sa.Column("deleted_at", _TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("source_system", "customer_key", name="pk_erp_customer"),
    )
    op.create_table(
        "erp_watermark",
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("cursor_modified", sa.String(64), nullable=False),
        sa.Column("cursor_key", sa.String(255), nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("source_system", "stream", name="pk_erp_watermark"),
    )
    op.create_table(
        "job_state",
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_slot", _TIMESTAMP, nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", _TIMESTAMP, nullable=True),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("job", name="pk_job_state"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("slot", _TIMESTAMP, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("runner", sa.String(200), nullable=True),
        sa.Column("queued_at", _TIMESTAMP, nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=True),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
        sa.Column("rows_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_written", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job_run"),
        sa.UniqueConstraint("job", "slot", "attempt", name="uq_job_run_job_slot_attempt"),
    )
    op.create_index("ix_job_run_job_id", "job_run", ["job", "id"])
    op.create_index("ix_job_run_status", "job_run", ["status"])
    op.create_table(
        "dropped_file",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("inbox", sa.String(100), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", _TIMESTAMP, nullable=False),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("rejected", sa.Integer(), nullable=True),
        sa.Column("moved_to", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dropped_file"),
        sa.UniqueConstraint(
            "inbox", "name", "content_hash", name="uq_dropped_file_inbox_name_content_hash"
        ),
    )


def downgrade() -> None:
    op.drop_table("dropped_file")
    op.drop_index("ix_job_run_status", table_name="job_run")
    op.drop_index("ix_job_run_job_id", table_name="job_run")
    op.drop_table("job_run")
    op.drop_table("job_state")
    op.drop_table("erp_watermark")
    op.drop_table("erp_customer")
