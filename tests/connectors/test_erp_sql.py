"""The ERP SQL connector: keyset cursor over shared timestamps, read-only, config errors."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from connectors.base import ConnectorError, Cursor, RecordSource, connector_class
from gateway.erp.demo import create_demo_erp
from gateway.errors import ConfigError
from tests.erp.conftest import erp_settings


@pytest.fixture
def erp_path(tmp_path: Path) -> Path:
    path = tmp_path / "erp.db"
    create_demo_erp(path)
    return path


def test_rows_sharing_a_timestamp_are_read_once_across_page_boundaries(erp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{erp_path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET modified_at = '2030-05-05 10:00:00.000000'"))
    engine.dispose()
    source = erp_settings(erp_path, batch_size=3, round_size=3, orders=None,
                           invoices=None).open()
    try:
        batches = list(itertools.islice(source.changes({}), 100))  # bounded: 40 / 3 = 14 pages
        keys = [r.key for b in batches for r in b.records]
        assert len(keys) == len(set(keys)) == 40
        assert len(batches) == 14
        last = batches[-1].cursors["customers"]
        assert last.key == max(keys)
        # the cursor of a page in the middle resumes exactly after it
        middle = batches[6].cursors["customers"]
        rest = [r.key for b in source.changes({"customers": middle}) for r in b.records]
        assert rest == keys[21:]
        assert list(source.changes({"customers": last})) == []
    finally:
        source.close()


@pytest.mark.parametrize("stored", [
    ["2030-01-01 00:00:00"],  # as most ERP writers store a time: no fraction
    ["2030-01-01 00:00:00", "2030-01-01 00:00:00.000000"],  # both forms, one instant
])
def test_rows_at_the_cursor_time_stored_without_a_fraction_are_read_once(
        erp_path: Path, stored: list[str]) -> None:
    """SQLite compares its date and time text as text: a cursor bound as SQLAlchemy writes a
    datetime (``…00:00:00.000000``) sorted after ``…00:00:00``, and skipped every row of the
    ERP at the cursor's own time after the first page."""
    engine = create_engine(f"sqlite:///{erp_path}")
    with engine.begin() as conn:
        keys = [r[0] for r in conn.execute(text(
            "SELECT customer_no FROM customers ORDER BY customer_no"))]
        for i, key in enumerate(keys):
            conn.execute(text("UPDATE customers SET modified_at = :m WHERE customer_no = :k"),
                         {"m": stored[i % len(stored)], "k": key})
    engine.dispose()
    source = erp_settings(erp_path, batch_size=3, round_size=3, orders=None,
                           invoices=None).open()
    try:
        batches = list(itertools.islice(source.changes({}), 100))
        read = [r.key for b in batches for r in b.records]
        assert sorted(read) == sorted(keys)  # none skipped, none twice
        last = batches[-1].cursors["customers"]
        assert last.modified == max(stored)  # the text the ERP holds, kept as it is
        assert list(source.changes({"customers": last})) == []  # not read for ever
        assert source.high_water() == {"customers": last}  # type: ignore[attr-defined]
        middle = batches[4].cursors["customers"]
        rest = [r.key for b in source.changes({"customers": middle}) for r in b.records]
        assert rest == read[15:]
    finally:
        source.close()


def test_a_datetime_cursor_saved_before_positions_were_text_skips_nothing(
        erp_path: Path) -> None:
    """A cursor saved as a datetime resumes at the shortest text of its instant: rows stored
    at that instant (with a fraction) are read at most once more, never skipped."""
    from datetime import datetime

    source = erp_settings(erp_path, batch_size=1000).open()
    try:
        marks = source.high_water()  # type: ignore[attr-defined]
        assert all(isinstance(m.modified, str) for m in marks.values())
        as_datetimes = {k: Cursor(datetime.fromisoformat(v.modified), v.key)
                        for k, v in marks.items()}
        again = list(source.changes(as_datetimes))
        for batch in again:  # only rows at a high-water instant, once
            assert {s: c.modified for s, c in batch.cursors.items()} == {
                s: marks[s].modified for s in batch.cursors}
        assert list(source.changes({k: c for k, c in marks.items()})) == []
    finally:
        source.close()


def test_the_connector_cannot_write_to_the_erp(erp_path: Path) -> None:
    source = erp_settings(erp_path).open()
    try:
        list(source.keys())
        with pytest.raises(OperationalError, match=r"readonly"), \
                source.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("DELETE FROM orders"))
    finally:
        source.close()


def test_a_missing_erp_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"
    source = erp_settings(path).open()
    with pytest.raises(ConnectorError, match=r"connector erp: .*unable to open"):
        list(source.keys())
    assert not path.exists()


def test_unknown_table_and_column_name_the_config_section(erp_path: Path) -> None:
    source = erp_settings(erp_path, customers={"table": "kunden", "key": "id"}).open()
    with pytest.raises(ConnectorError, match=r"table 'kunden' not found"):
        list(source.keys())
    source = erp_settings(erp_path, customers={"table": "customers", "key": "customer_no",
                                                "columns": ["shoe_size"]}).open()
    with pytest.raises(ConnectorError, match=r"no column 'shoe_size'.*erp.customers"):
        list(source.everything())


def test_config_errors_name_the_key(erp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key 'erp.orders.amount'"):
        erp_settings(erp_path, orders={"table": "orders", "key": "order_no",
                                       "customer": "customer_no", "date": "order_date"})
    with pytest.raises(ConfigError, match=r"key 'erp.colour': unknown key"):
        erp_settings(erp_path, colour="blue")
    with pytest.raises(ConfigError, match=r"key 'erp.credit_codes.X'"):
        erp_settings(erp_path, credit_codes={"X": "excellent"})
    with pytest.raises(ConfigError, match=r"key 'erp.connector'.*no connector with alias"):
        erp_settings(erp_path, connector="erp_oracle")


def test_connector_aliases() -> None:
    assert isinstance(erp_settings(Path("x.db")).open(), RecordSource)
    assert connector_class("erp_files").__name__ == "FileDropInbox"
    with pytest.raises(LookupError, match=r"no connector with alias 'sap'.*erp_files, erp_sql"):
        connector_class("sap")
    with pytest.raises(ImportError, match=r"connector 'nowhere:Thing' needs module nowhere"):
        connector_class("nowhere:Thing")


def _copy_erp_to_postgres(sqlite_path: Path, pg_url: str) -> None:
    """The demo ERP's tables and rows, (re)written into the PostgreSQL schema of ``pg_url``."""
    from gateway.erp.demo import erp_metadata

    source, target = create_engine(f"sqlite:///{sqlite_path}"), create_engine(pg_url)
    try:
        erp_metadata.create_all(target)
        with source.connect() as read, target.begin() as write:
            for table in reversed(erp_metadata.sorted_tables):
                write.execute(table.delete())
            for table in erp_metadata.sorted_tables:
                rows = [dict(r._mapping) for r in read.execute(table.select())]
                if rows:
                    write.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("batch_size", [3, 5000])
def test_a_postgresql_erp_full_and_incremental_match_the_erp(
        tmp_path: Path, postgres_server: Any, batch_size: int) -> None:
    """The PostgreSQL ERP path: one streamed full read, ``= ANY(array)`` sums of the customers a
    round touched, read-only sessions; figures equal the ERP's, in small and large pages."""
    import secrets

    from gateway.erp.demo import change_demo_erp
    from gateway.erp.refresh import ColumnSummaryMapper, ErpRefresher
    from gateway.store.engine import make_engine, with_search_path
    from gateway.store.migrate import upgrade
    from tests.erp.conftest import expected_from_erp, snapshot_as_erp

    path = tmp_path / "erp.db"
    create_demo_erp(path, extra_customers=60)
    schema = f"cpex_test_erp_{secrets.token_hex(6)}"
    with postgres_server.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    pg_url = with_search_path(postgres_server.url, schema).render_as_string(hide_password=False)
    crm = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        upgrade(crm)
        _copy_erp_to_postgres(path, pg_url)
        erp = erp_settings(path, url=pg_url, batch_size=batch_size, round_size=batch_size,
                           full_batch_size=7, full_chunk_size=batch_size * 4)
        refresher = ErpRefresher(crm, erp.open(), ColumnSummaryMapper(erp.credit_codes))
        try:
            full = refresher.full()
            assert full.rows_written == len(expected_from_erp(path))
            assert snapshot_as_erp(crm) == expected_from_erp(path)
            assert refresher.incremental().rows_written == 0
            changes = change_demo_erp(path, delete_one=False)
            _copy_erp_to_postgres(path, pg_url)
            result = refresher.incremental()
            assert result.rows_read == 3
            touched = {changes.new_order_for, changes.paid_invoice_of, changes.credit_hold_for}
            assert result.rows_written == len(touched)
            assert snapshot_as_erp(crm) == expected_from_erp(path)
            with pytest.raises(Exception, match=r"read-only"), \
                    refresher.source.engine.begin() as conn:  # type: ignore[attr-defined]
                conn.exec_driver_sql("DELETE FROM invoices")
        finally:
            refresher.source.close()
    finally:
        crm.dispose()
        with postgres_server.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
