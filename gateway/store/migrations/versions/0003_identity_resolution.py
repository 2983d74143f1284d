"""Identity resolution: source record documents, golden lineage, match keys, aliases, review.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Existing source records get their golden profile's document: before this revision the golden
document *was* the latest record's profile (plus identifiers), the best estimate there is.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("source_record", sa.Column("document", _JSON, nullable=True))
    op.add_column("golden_profile", sa.Column("lineage", _JSON, nullable=True))
    op.execute(
        "UPDATE source_record SET document = (SELECT g.document FROM golden_profile g "
        "WHERE g.id = source_record.golden_id)"
    )
    op.create_table(
        "match_key",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("source_record_id", _ROW_ID, nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("key", "source_record_id", name="pk_match_key"),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
            name="fk_match_key_source_record_id_source_record",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["golden_profile.id"], name="fk_match_key_golden_id_golden_profile"
        ),
    )
    op.create_index("ix_match_key_golden_id", "match_key", ["golden_id"])
    op.create_index("ix_match_key_key_golden_id", "match_key", ["key", "golden_id"])
    op.create_index("ix_match_key_source_record_id", "match_key", ["source_record_id"])
    op.create_table(
        "golden_alias",
        sa.Column("alias_id", sa.String(40), nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.Column("merged_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("alias_id", name="pk_golden_alias"),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["golden_profile.id"], name="fk_golden_alias_golden_id_golden_profile"
        ),
    )
    op.create_index("ix_golden_alias_golden_id", "golden_alias", ["golden_id"])
    op.create_table(
        "review_item",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.Column("candidate_id", sa.String(40), nullable=False),
        sa.Column("source_record_id", _ROW_ID, nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("decided_at", _TIMESTAMP, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_item"),
    )
    op.create_index("ix_review_item_golden_id", "review_item", ["golden_id"])
    op.create_index("ix_review_item_candidate_id", "review_item", ["candidate_id"])
    op.create_index("ix_review_item_status_id", "review_item", ["status", "id"])
    op.create_table(
        "match_rejection",
        sa.Column("golden_low", sa.String(40), nullable=False),
        sa.Column("golden_high", sa.String(40), nullable=False),
        sa.Column("rejected_at", _TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("review_item_id", _ROW_ID, nullable=True),
        sa.PrimaryKeyConstraint("golden_low", "golden_high", name="pk_match_rejection"),
    )
    op.create_index("ix_match_rejection_golden_high", "match_rejection", ["golden_high"])


def downgrade() -> None:
    op.drop_table("match_rejection")
    op.drop_table("review_item")
    op.drop_table("golden_alias")
    op.drop_table("match_key")
    with op.batch_alter_table("golden_profile") as batch:
        batch.drop_column("lineage")
    with op.batch_alter_table("source_record") as batch:
        batch.drop_column("document")
