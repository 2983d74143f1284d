"""ERP freshness and change detection (when a customer's figures last changed, the checksum of
its child rows, the content hash of its master data, the last successful refresh of each ERP)
and per-run counts of the job history (skipped unchanged, marked deleted, rows read per table).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("erp_customer", sa.Column("changed_at", _TIMESTAMP))
    op.add_column("erp_customer", sa.Column("checksum", sa.String(200)))
    op.add_column("erp_customer", sa.Column("master_hash", sa.String(64)))
    op.execute("UPDATE erp_customer SET changed_at = extracted_at")
    op.create_table(
        "erp_source",
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("confirmed_at", _TIMESTAMP, nullable=False),
        sa.Column("confirmed_by", sa.String(16), nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("source_system", name="pk_erp_source"),
    )
    op.add_column("job_run", sa.Column("rows_skipped", sa.Integer(), nullable=False,
                                       server_default="0"))
    op.add_column("job_run", sa.Column("rows_deleted", sa.Integer(), nullable=False,
                                       server_default="0"))
    op.add_column("job_run", sa.Column("rows_by_table", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.drop_column("rows_by_table")
        batch.drop_column("rows_deleted")
        batch.drop_column("rows_skipped")
    op.drop_table("erp_source")
    with op.batch_alter_table("erp_customer") as batch:
        batch.drop_column("master_hash")
        batch.drop_column("checksum")
        batch.drop_column("changed_at")
