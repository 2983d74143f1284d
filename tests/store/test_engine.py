"""Engines: URL handling, SQLite pragmas, PostgreSQL schema isolation, UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import SQLAlchemyError, StatementError

from gateway.errors import ConfigError, StoreError
from gateway.store.engine import make_engine, safe_url, store_error, write_transaction
from gateway.store.tables import audit_log


def test_sqlite_file_gets_its_folder_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'cpex.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert (tmp_path / "var" / "cpex.db").is_file()
    finally:
        engine.dispose()


def test_sqlite_transaction_covers_reads_and_rolls_back_ddl(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cpex.db'}")
    try:
        with pytest.raises(RuntimeError), write_transaction(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
            raise RuntimeError("abort")
        with engine.connect() as conn:
            tables = conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
        assert "t" not in tables
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["postgresql://u:secret@db/cpex", "postgres://u:secret@db/cpex"])
def test_plain_postgresql_url_is_switched_to_psycopg(url: str) -> None:
    engine = make_engine(url)  # no connection is made until used
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        assert "secret" not in safe_url(engine.url)
    finally:
        engine.dispose()


def test_schema_goes_into_the_search_path_option() -> None:
    engine = make_engine("postgresql://u@db/cpex?options=-cstatement_timeout%3D5000", schema="s1")
    try:
        assert engine.url.query["options"] == "-cstatement_timeout=5000 -csearch_path=s1"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "schema", "words"),
    [
        ("mysql://u@db/cpex", None, "unsupported database 'mysql'"),
        ("not a url", None, "not a database URL"),
        ("sqlite:///x.db", "s1", "can only be chosen for PostgreSQL"),
        ("postgresql://u@db/cpex", "a;drop", "not a plain identifier"),
    ],
)
def test_bad_configuration_is_a_config_error(url: str, schema: str | None, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        make_engine(url, schema=schema)


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_engine_works_inside_the_test_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    assert schema is not None and schema.startswith("cpex_test_")


def test_datetimes_come_back_aware_in_utc(migrated_engine: Engine) -> None:
    at = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with write_transaction(migrated_engine) as conn:
        conn.execute(insert(audit_log), {"at": at, "actor": "t", "action": "a", "detail": {}})
    with migrated_engine.connect() as conn:
        stored = conn.execute(select(audit_log.c.at)).scalar_one()
    assert stored == at
    assert stored.tzinfo is UTC


def test_naive_datetimes_are_refused(migrated_engine: Engine) -> None:
    row = {"at": datetime(2025, 6, 1), "actor": "t", "action": "a", "detail": {}}
    with (
        pytest.raises(StatementError, match="time zone is required"),
        write_transaction(migrated_engine) as conn,
    ):
        conn.execute(insert(audit_log), row)


def test_store_error_keeps_the_first_driver_line_only(migrated_engine: Engine) -> None:
    with pytest.raises(SQLAlchemyError) as info, migrated_engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :secret"), {"secret": "s3cr3t"})
    error = store_error("reading things", info.value)
    assert isinstance(error, StoreError)
    # the operator's log and CLI get the driver's first line ...
    assert str(error).startswith("reading things: ") and "no_such_table" in str(error)
    assert "s3cr3t" not in str(error) and "\n" not in str(error)
    # ... an API client or partner only what was being done
    assert error.message == "reading things: the database failed; try again later"
    assert error.to_dict() == {"code": "store_error", "message": error.message}
