"""Migrations: upgrade from empty, revisions, the startup check, schema equals the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, inspect

import gateway.pipeline.tables  # noqa: F401  (registers the pipeline's tables on metadata)
from gateway.errors import SchemaOutOfDateError, StoreError
from gateway.store.engine import write_transaction
from gateway.store.migrate import current_revision, ensure_up_to_date, head_revision, upgrade
from gateway.store.tables import metadata

TABLES = {
    "golden_profile",
    "source_record",
    "identifier",
    "consent",
    "audit_log",
    "api_credential",
    "mapping_version",
    "match_key",
    "golden_alias",
    "review_item",
    "match_rejection",
    "match_model",
    "erp_customer",
    "erp_watermark",
    "erp_source",
    "job_state",
    "job_run",
    "dropped_file",
    "outbox_event",
    "quarantine_record",
    "inbound_message",
    "delivery",
    "rate_window",
    "console_session",
    "review_claim",
    "erasure_request",
}


def test_upgrade_creates_every_table_on_an_empty_database(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}


def test_upgrade_takes_a_url_and_can_run_twice(db_url: str, engine: Engine) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current_revision(engine) == head_revision()


def test_current_revision_is_none_before_and_head_after(engine: Engine) -> None:
    assert head_revision() == "0012"
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == "0012"


def test_upgrade_one_step_at_a_time(engine: Engine) -> None:
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with pytest.raises(SchemaOutOfDateError) as info:
        ensure_up_to_date(engine)
    assert info.value.current == "0001"
    upgrade(engine)
    ensure_up_to_date(engine)


def test_ensure_up_to_date_tells_to_upgrade_an_empty_database(engine: Engine) -> None:
    with pytest.raises(SchemaOutOfDateError) as info:
        ensure_up_to_date(engine)
    assert info.value.current is None
    assert info.value.expected == head_revision()
    assert "cpex-gateway db upgrade" in str(info.value)
    upgrade(engine)
    ensure_up_to_date(engine)


def test_ensure_up_to_date_refuses_a_revision_from_a_newer_gateway(migrated_engine: Engine) -> None:
    with write_transaction(migrated_engine) as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="9999, which this gateway does not know") as info:
        ensure_up_to_date(migrated_engine)
    assert not isinstance(info.value, SchemaOutOfDateError)


def test_upgrade_to_an_unknown_revision_is_a_store_error(engine: Engine) -> None:
    with pytest.raises(StoreError, match=r"upgrading .* to nope"):
        upgrade(engine, "nope")
    assert current_revision(engine) is None


def test_migrated_schema_matches_the_table_definitions(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    assert diffs == []


def test_the_schema_comparison_does_see_a_difference(migrated_engine: Engine) -> None:
    """Guards the test above against comparing nothing (e.g. the wrong schema)."""
    drifted = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["consent"].append_column(Column("note", String(10)))
    with migrated_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), drifted)
    assert [d[0] for d in diffs] == ["add_column"]
