"""Initial CRM base: golden profiles, source records, identifiers, consents, audit log.

Revision ID: 0001
Revises:
Create Date: 2025-11-24

Written out by hand, with plain SQLAlchemy types rather than imports from ``gateway.store``:
a migration is a frozen record of one step and must not change when the models do.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "golden_profile",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.Column("erased", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_golden_profile"),
    )
    op.create_table(
        "source_record",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(255), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_source_record"),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["golden_profile.id"], name="fk_source_record_golden_id_golden_profile"
        ),
        sa.UniqueConstraint(
            "source_system", "source_key", name="uq_source_record_source_system_source_key"
        ),
    )
    op.create_index("ix_source_record_golden_id", "source_record", ["golden_id"])
    op.create_table(
        "identifier",
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("system", "key", name="pk_identifier"),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["golden_profile.id"], name="fk_identifier_golden_id_golden_profile"
        ),
    )
    op.create_index("ix_identifier_golden_id", "identifier", ["golden_id"])
    op.create_table(
        "consent",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("given_at", _TIMESTAMP, nullable=False),
        sa.Column("expires_at", _TIMESTAMP, nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["golden_profile.id"], name="fk_consent_golden_id_golden_profile"
        ),
    )
    op.create_index("ix_consent_golden_id", "consent", ["golden_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("at", _TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("golden_id", sa.String(40), nullable=True),
        sa.Column("partner", sa.String(100), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=True),
        sa.Column("fields", _JSON, nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("detail", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_golden_id_at", "audit_log", ["golden_id", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("consent")
    op.drop_table("identifier")
    op.drop_table("source_record")
    op.drop_table("golden_profile")
