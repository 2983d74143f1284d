"""ERP refresh into the snapshot, on SQLite and PostgreSQL: full, incremental, reconciliation,
and CRM reads that keep answering (with the age) when the ERP is gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from gateway.erp.demo import change_demo_erp
from gateway.erp.refresh import ErpRefresher
from gateway.erp.snapshot import SnapshotStore, erp_snapshot_for
from gateway.model import CreditStatus, Identifier, Person, Profile
from gateway.store.profiles import ProfileStore
from tests.erp.conftest import expected_from_erp, snapshot_as_erp


def test_full_refresh_copies_every_customer(refresher: ErpRefresher, erp_path: Path,
                                            migrated_engine: Engine) -> None:
    result = refresher.full()
    expected = expected_from_erp(erp_path)
    assert result.rows_written == len(expected) == 40
    assert snapshot_as_erp(migrated_engine) == expected
    assert set(refresher.store.cursors()) == {"customers", "orders", "invoices"}


def test_incremental_reads_only_changes_and_matches_the_erp(
        refresher: ErpRefresher, erp_path: Path, migrated_engine: Engine) -> None:
    refresher.full()
    assert refresher.incremental().rows_written == 0  # nothing changed since
    changes = change_demo_erp(erp_path, delete_one=False)
    result = refresher.incremental()
    assert result.rows_read == 3  # one customer, one order, one invoice row
    touched = {changes.new_order_for, changes.paid_invoice_of, changes.credit_hold_for}
    assert result.rows_written == len(touched)  # each customer touched is summed once
    assert snapshot_as_erp(migrated_engine) == expected_from_erp(erp_path)
    held = erp_snapshot_for(migrated_engine, ("erp", changes.credit_hold_for))
    assert held is not None and held.summary.credit_status is CreditStatus.HOLD


def test_reconciliation_and_full_refresh_mark_deleted_customers(
        refresher: ErpRefresher, erp_path: Path, migrated_engine: Engine) -> None:
    refresher.full()
    changes = change_demo_erp(erp_path)
    assert changes.deleted is not None
    refresher.incremental()
    assert erp_snapshot_for(migrated_engine, ("erp", changes.deleted)) is not None
    result = refresher.reconcile()
    assert (result.rows_read, result.rows_deleted) == (39, 1)
    assert erp_snapshot_for(migrated_engine, ("erp", changes.deleted)) is None
    assert SnapshotStore(migrated_engine, "erp").counts() == {"live": 39, "deleted": 1}
    assert snapshot_as_erp(migrated_engine) == expected_from_erp(erp_path)
    assert refresher.reconcile().rows_deleted == 0  # already marked


def test_full_refresh_alone_finds_deletes(refresher: ErpRefresher, erp_path: Path,
                                          migrated_engine: Engine) -> None:
    refresher.full()
    change_demo_erp(erp_path)
    assert refresher.full().rows_deleted == 1
    assert snapshot_as_erp(migrated_engine) == expected_from_erp(erp_path)


def test_crm_reads_answer_with_the_age_after_the_erp_is_removed(
        refresher: ErpRefresher, erp_path: Path, migrated_engine: Engine) -> None:
    golden = ProfileStore(migrated_engine).save_source_profile(
        Profile(identifiers=(Identifier("erp", "C-100904"),),
                person=Person(family_name="Hoffmann")),
        source_system="erp", raw="<x/>").golden_id
    refresher.full()
    refresher.source.close()
    erp_path.unlink()
    assert not erp_path.exists()
    later = datetime.now(UTC) + timedelta(hours=3)
    by_golden = erp_snapshot_for(migrated_engine, golden, now=later)
    by_key = erp_snapshot_for(migrated_engine, ("erp", "C-100904"), now=later)
    assert by_golden is not None and by_golden == by_key
    assert timedelta(hours=3) <= by_golden.age < timedelta(hours=3, minutes=5)
    assert by_golden.summary.as_of <= datetime.now(UTC)
    # and the next refresh fails cleanly, leaving the snapshot as it was
    from connectors.base import ConnectorError
    try:
        refresher.incremental()
        raise AssertionError("the refresh should fail without the ERP")
    except ConnectorError as exc:
        assert "erp" in str(exc)
    assert not erp_path.exists()  # read-only: opening never created an empty ERP
    assert erp_snapshot_for(migrated_engine, golden) is not None


def test_an_unknown_credit_code_is_unknown_and_a_bad_currency_is_rejected(
        refresher: ErpRefresher, erp_path: Path, migrated_engine: Engine) -> None:
    engine = create_engine(f"sqlite:///{erp_path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET credit_status = 'ZZ' WHERE customer_no = "
                          "'C-100901'"))
        conn.execute(text("UPDATE customers SET currency = 'E1' WHERE customer_no = 'C-100902'"))
    engine.dispose()
    result = refresher.full()
    assert (result.rows_written, result.rows_rejected) == (39, 1)
    assert result.rejected_keys == ["C-100902"]
    figures = erp_snapshot_for(migrated_engine, ("erp", "C-100901"))
    assert figures is not None and figures.summary.credit_status is CreditStatus.UNKNOWN


def test_a_customer_changed_only_in_its_own_row_keeps_its_figures(
        refresher: ErpRefresher, erp_path: Path, migrated_engine: Engine) -> None:
    """Its new credit status is written over its snapshot row, whose order and invoice figures
    stay as they are: not summed again in the ERP. A customer the snapshot does not have (new,
    or marked deleted) is summed whole."""
    refresher.full()
    before = snapshot_as_erp(migrated_engine)
    erp = create_engine(f"sqlite:///{erp_path}")
    with erp.begin() as conn:
        # A change the orders stream cannot see (modified time left as it was): only a sum
        # would find it, so the kept figures show that the customer was not summed.
        conn.execute(text("UPDATE orders SET total = total + 1000 WHERE customer_no = "
                          "'C-100902'"))
        conn.execute(text("UPDATE customers SET credit_status = 'HOLD', modified_at = "
                          "'2031-01-01 00:00:00' WHERE customer_no IN ('C-100902', 'C-100903')"))
    erp.dispose()
    with migrated_engine.begin() as conn:  # the snapshot no longer has the second one live
        conn.execute(text("UPDATE erp_customer SET deleted_at = extracted_at, order_count = 0 "
                          "WHERE customer_key = 'C-100903'"))
    result = refresher.incremental()
    assert (result.rows_read, result.rows_written) == (2, 2)
    after = snapshot_as_erp(migrated_engine)
    expected = expected_from_erp(erp_path)
    assert after["C-100902"] == ("HOLD", *before["C-100902"][1:])  # figures kept
    assert after["C-100902"][2] != expected["C-100902"][2]  # (the ERP's sum is another)
    assert after["C-100903"] == expected["C-100903"]  # summed: live again, figures whole
    held = erp_snapshot_for(migrated_engine, ("erp", "C-100902"))
    assert held is not None and held.summary.credit_status is CreditStatus.HOLD
    assert held.age < timedelta(minutes=1)  # extracted now
    assert {k: v for k, v in after.items() if k not in ("C-100902", "C-100903")} == {
        k: v for k, v in before.items() if k not in ("C-100902", "C-100903")}
