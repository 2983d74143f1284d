"""The shipped ERP configuration (records mapped by mappings/erp-customers-sql.yaml), rounds of
incremental sums, and the first-load bulk path, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.erp.demo import change_demo_erp, create_demo_erp, demo_erp_options
from gateway.erp.refresh import ErpRefresher, MappingSummaryMapper
from gateway.erp.service import refresher_for, run_demo_erp
from gateway.erp.settings import erp_settings_from, load_erp_settings
from gateway.erp.snapshot import SnapshotStore, erp_snapshot_for
from gateway.errors import ConfigError
from gateway.mapping import load_mapping
from gateway.model import CreditStatus
from gateway.runtime import Gateway
from tests.erp.conftest import erp_settings, expected_from_erp, make_refresher, snapshot_as_erp

REPO = Path(__file__).resolve().parents[2]




def test_the_shipped_config_maps_erp_records_with_the_mapping_file(
        gateway: Gateway, migrated_engine: Engine) -> None:
    erp = load_erp_settings(gateway.settings, REPO / "config" / "erp.toml")
    assert erp.mapping == "erp-customers-sql.yaml" and not erp.credit_codes
    path = gateway.settings.path("var") / "demo-erp.db"  # where config/erp.toml points
    create_demo_erp(path)
    refresher = refresher_for(gateway, erp)
    try:
        assert isinstance(refresher.to_summary, MappingSummaryMapper)
        assert refresher.full().rows_written == len(expected_from_erp(path))
        assert snapshot_as_erp(migrated_engine) == expected_from_erp(path)
        changes = change_demo_erp(path, delete_one=False)
        result = refresher.incremental()
        assert result.rows_written == len({changes.new_order_for, changes.paid_invoice_of,
                                           changes.credit_hold_for})
        assert snapshot_as_erp(migrated_engine) == expected_from_erp(path)
    finally:
        refresher.source.close()


def test_the_demo_story_runs_on_the_mapping_file(gateway: Gateway) -> None:
    told = run_demo_erp(gateway)
    assert "ERP refresh 1, full: 40 read, 40 written, 0 rejected" in told
    assert "ERP figures of erp/C-100901: credit" in told


def test_mapping_file_and_column_mapping_give_the_same_snapshot(
        migrated_engine: Engine, erp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{erp_path}")
    with engine.begin() as conn:  # an unknown code is 'unknown' with either mapping, a bad
        conn.execute(text("UPDATE customers SET credit_status = ' ZZ' WHERE customer_no = "
                          "'C-100901'"))  # currency is rejected by both
        conn.execute(text("UPDATE customers SET currency = 'E1' WHERE customer_no = 'C-100902'"))
    engine.dispose()
    column = make_refresher(migrated_engine, erp_settings(erp_path))
    assert column.full().rejected_keys == ["C-100902"]
    column.source.close()
    by_columns = dict(SnapshotStore(migrated_engine, "erp").rows())
    mapped = ErpRefresher(migrated_engine, erp_settings(erp_path).open(), MappingSummaryMapper(
        load_mapping(REPO / "mappings" / "erp-customers-sql.yaml")))
    assert mapped.full().rejected_keys == ["C-100902"]
    mapped.source.close()
    by_file = dict(SnapshotStore(migrated_engine, "erp").rows())
    ignore = ("extracted_at",)
    assert {k: {c: v for c, v in row.items() if c not in ignore} for k, row in by_file.items()} \
        == {k: {c: v for c, v in row.items() if c not in ignore} for k, row in by_columns.items()}
    figures = erp_snapshot_for(migrated_engine, ("erp", "C-100901"))
    assert figures is not None and figures.summary.credit_status is CreditStatus.UNKNOWN


def test_a_mapping_file_together_with_credit_codes_is_refused(tmp_path: Path) -> None:
    options = demo_erp_options(tmp_path / "erp.db")
    options["credit_codes"] = {"OK": "good"}
    with pytest.raises(ConfigError, match=r"key 'erp.credit_codes'.*code list"):
        erp_settings_from({"version": 1, "erp": options}, file="test", base_dir=tmp_path)


def test_a_customer_touched_by_many_changed_rows_is_summed_once_per_round(
        migrated_engine: Engine, erp_path: Path) -> None:
    refresher = make_refresher(migrated_engine, erp_settings(erp_path, batch_size=2,
                                                             round_size=1000))
    try:
        refresher.full()
        engine = create_engine(f"sqlite:///{erp_path}")
        with engine.begin() as conn:  # every order and invoice of one customer, and the row
            busiest = conn.execute(text("SELECT customer_no FROM orders GROUP BY customer_no "
                                        "ORDER BY count(*) DESC LIMIT 1")).scalar_one()
            rows = 0
            for table in ("orders", "invoices", "customers"):
                rows += conn.execute(text(f"UPDATE {table} SET modified_at = "
                                          "'2030-01-01 00:00:00.000000' WHERE customer_no = :c"),
                                     {"c": busiest}).rowcount
        engine.dispose()
        assert rows > 4  # more than two pages of two rows
        batches = list(refresher.source.changes(refresher.store.cursors()))
        assert len(batches) == 1 and batches[0].size == 1 and batches[0].rows_read == rows
        assert set(batches[0].cursors) == {"customers", "orders", "invoices"}
        assert refresher.incremental().rows_written == 1
        assert snapshot_as_erp(migrated_engine) == expected_from_erp(erp_path)
    finally:
        refresher.source.close()


def test_a_first_load_batch_whose_key_exists_is_merged(migrated_engine: Engine) -> None:
    store = SnapshotStore(migrated_engine, "erp")
    now = datetime(2024, 11, 1, 2, 0, tzinfo=UTC)

    def row(key: str, balance: str) -> tuple[object, ...]:
        return (key, "good", Decimal(balance), "EUR", 0, 1, Decimal("10.00"), None, now)

    assert store.is_empty()
    assert store.write_values([row("A", "1.00"), row("B", "2.00")], {}, new_keys=True).written == 2
    assert not store.is_empty()
    # "B" exists: the straight COPY fails inside its savepoint and the batch is merged instead
    assert store.write_values([row("B", "5.00"), row("C", "3.00")], {}, new_keys=True).written == 2
    balances = {key: values["balance"] for key, values in store.rows()}
    assert balances == {"A": Decimal("1.00"), "B": Decimal("5.00"), "C": Decimal("3.00")}


def test_a_full_refresh_in_key_ranges_reads_every_customer_once(
        migrated_engine: Engine, erp_path: Path) -> None:
    refresher = make_refresher(migrated_engine, erp_settings(erp_path, full_batch_size=3,
                                                             full_chunk_size=7))
    try:
        batches = list(refresher.source.everything())
        keys = [record.key for batch in batches for record in batch.records]
        assert len(keys) == len(set(keys)) == len(expected_from_erp(erp_path))
        assert [bool(batch.cursors) for batch in batches] == [False] * (len(batches) - 1) + [True]
        assert refresher.full().rows_written == len(keys)
        assert snapshot_as_erp(migrated_engine) == expected_from_erp(erp_path)
    finally:
        refresher.source.close()


def test_the_mapping_files_bulk_path_gives_what_one_record_at_a_time_gives() -> None:
    from connectors.base import SourceRecord
    from gateway.erp.snapshot import SnapshotRow
    from gateway.errors import GatewayError

    mapper = MappingSummaryMapper(load_mapping(REPO / "mappings" / "erp-customers-sql.yaml"))
    columns = ("customer_no", "credit_status", "currency", "order_count", "lifetime_value",
               "last_order_date", "open_invoices", "balance")
    rows = [("K1", "OK", "eur", 3, Decimal("10.5"), None, 1, 2.25),
            ("K2", "ZZ", "GBP", 0, 0, None, 0, Decimal("0")),
            ("K3", "HOLD", "E1", 1, Decimal("1"), None, 0, Decimal("0")),
            ("K4", "OK", "EUR", 1, "not a number", None, 0, Decimal("0"))]
    now = datetime(2024, 11, 1, 2, 0, tzinfo=UTC)
    refused: list[str] = []
    bulk = mapper.snapshot_values(columns, rows, now, lambda key, exc: refused.append(key))
    one_by_one = []
    for row in rows:
        record = SourceRecord(str(row[0]), dict(zip(columns, row, strict=True)))
        try:
            one_by_one.append(SnapshotRow(record.key, mapper(record, now)).as_tuple())
        except GatewayError:
            continue
    assert bulk == one_by_one and refused == ["K3", "K4"]
    assert bulk[0][1:4] == ("good", Decimal("2.25"), "EUR") and bulk[1][1] == "unknown"
