"""A second ERP (order lines, open items, company accounts; see ``order_lines_erp``) on SQLite and
on PostgreSQL, refreshed into a CRM base on SQLite and on PostgreSQL: figures declared as
expressions over joined tables, lines without a change column followed by checksums, drift
found by reconciliation, unchanged rows counted, freshness, and the ERP going away mid-refresh."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from connectors.base import ConnectorError
from gateway.erp.refresh import ColumnSummaryMapper, ErpRefresher
from gateway.erp.settings import erp_settings_from
from gateway.erp.snapshot import SnapshotStore
from gateway.errors import ConfigError
from gateway.store.engine import with_search_path
from tests.erp import order_lines_erp as sample


@dataclass
class Erp:
    engine: Engine  # read-write, for the test to play the ERP's users
    url: str  # what the gateway is configured with
    path: Path | None  # the SQLite file


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Erp]:
    if request.param == "sqlite":
        path = tmp_path / "erp2.db"
        engine = create_engine(f"sqlite:///{path}")
        sample.create(engine)
        yield Erp(engine, f"sqlite:///{path}", path)
        engine.dispose()
        return
    server: Engine = request.getfixturevalue("postgres_server")
    schema = f"cpex_test_erp2_{secrets.token_hex(6)}"
    with server.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = with_search_path(server.url, schema).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        sample.create(engine)
        yield Erp(engine, url, None)
    finally:
        engine.dispose()
        with server.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def refresher_on(crm: Engine, erp: Erp, mapper: Any = None, **overrides: Any) -> ErpRefresher:
    options = {**sample.options(erp.url), **overrides}
    settings = erp_settings_from({"version": 1, "erp": options}, file="test",
                                 base_dir=Path("."))
    return ErpRefresher(crm, settings.open(), mapper or ColumnSummaryMapper(
        settings.credit_codes))


@pytest.fixture
def refresher(migrated_engine: Engine, erp: Erp) -> Iterator[ErpRefresher]:
    made = refresher_on(migrated_engine, erp)
    yield made
    made.source.close()


def _order_with_lines(erp: Erp) -> tuple[int, int]:
    """(account, order) of an order that has lines, and the next free line id."""
    with erp.engine.connect() as conn:
        account, order = conn.execute(text(
            "SELECT o.account_id, o.order_id FROM sales_orders o WHERE EXISTS (SELECT 1 FROM "
            "order_lines l WHERE l.order_id = o.order_id) ORDER BY o.order_id LIMIT 1")).one()
    return int(account), int(order)


def _add_line(erp: Erp, order: int) -> None:
    with erp.engine.begin() as conn:
        next_id = conn.execute(text("SELECT max(line_id) + 1 FROM order_lines")).scalar()
        conn.execute(text("INSERT INTO order_lines VALUES (:id, :order, 'ART-NEW', 3, 19.90, "
                          "10)"), {"id": next_id, "order": order})


def test_declared_figures_over_order_lines_equal_the_figures_summed_by_sql(
        refresher: ErpRefresher, migrated_engine: Engine, erp: Erp) -> None:
    result = refresher.full()
    expected = sample.expected_figures(erp.engine)
    assert result.rows_written == len(expected) == 30
    assert sample.snapshot_figures(migrated_engine) == expected
    assert any(v[2] != "0.00" for v in expected.values())  # the sample has order values
    assert any(v[1] == 0 for v in expected.values())  # ... and accounts without orders


def test_a_line_added_changed_or_deleted_without_a_change_column_is_seen_by_the_next_incremental(
        refresher: ErpRefresher, migrated_engine: Engine, erp: Erp) -> None:
    refresher.full()
    assert refresher.incremental().rows_drifted == 0
    account, order = _order_with_lines(erp)
    _add_line(erp, order)
    with erp.engine.begin() as conn:  # another account: a quantity changed, a line deleted
        other = conn.execute(text(
            "SELECT o.account_id, min(l.line_id), max(l.line_id) FROM order_lines l JOIN "
            "sales_orders o ON o.order_id = l.order_id WHERE o.account_id <> :a GROUP BY "
            "o.account_id HAVING count(*) > 1 ORDER BY o.account_id LIMIT 1"),
            {"a": account}).one()
        conn.execute(text("UPDATE order_lines SET quantity = quantity + 5 WHERE line_id = :l"),
                     {"l": other[1]})
        conn.execute(text("DELETE FROM order_lines WHERE line_id = :l"), {"l": other[2]})
    assert sample.snapshot_figures(migrated_engine) != sample.expected_figures(erp.engine)

    result = refresher.incremental()
    assert result.rows_drifted == 2
    assert result.rows_written == 2
    assert sample.snapshot_figures(migrated_engine) == sample.expected_figures(erp.engine)
    assert result.read_by_table["customers (checksums)"] == 30
    assert refresher.incremental().rows_drifted == 0  # the new checksums were stored


def test_lines_left_to_reconciliation_are_fixed_by_reconcile_which_reports_the_drift(
        migrated_engine: Engine, erp: Erp) -> None:
    refresher = refresher_on(migrated_engine, erp, tables={"lines": {
        "table": "order_lines", "key": "line_id", "parent": "orders", "parent_key": "order_id",
        "changes": "reconcile"}})
    try:
        refresher.full()
        account, order = _order_with_lines(erp)
        _add_line(erp, order)
        quiet = refresher.incremental()  # cheap: lines are not compared
        assert quiet.rows_drifted == 0 and "customers (checksums)" not in quiet.read_by_table
        assert sample.snapshot_figures(migrated_engine)[str(account)] != \
            sample.expected_figures(erp.engine)[str(account)]

        result = refresher.reconcile()
        assert result.rows_drifted == 1
        assert "1 drifted" in result.describe()
        assert sample.snapshot_figures(migrated_engine) == sample.expected_figures(erp.engine)
        assert refresher.reconcile().rows_drifted == 0
    finally:
        refresher.source.close()


def test_a_full_refresh_without_changes_counts_every_row_unchanged_and_confirms_them(
        refresher: ErpRefresher, migrated_engine: Engine, erp: Erp) -> None:
    refresher.full()
    store = SnapshotStore(migrated_engine, "erp2")
    first_confirmed = store.confirmed_at()
    changed_before = {k: r["changed_at"] for k, r in store.rows()}
    again = refresher.full()
    assert (again.rows_written, again.rows_unchanged) == (30, 30)
    assert {k: r["changed_at"] for k, r in store.rows()} == changed_before
    confirmed = store.confirmed_at()
    assert first_confirmed is not None and confirmed is not None
    assert confirmed > first_confirmed

    account, order = _order_with_lines(erp)
    _add_line(erp, order)
    third = refresher.full()
    assert (third.rows_written, third.rows_unchanged) == (30, 29)
    changed = {k for k, r in store.rows() if r["changed_at"] != changed_before[k]}
    assert changed == {str(account)}


def test_an_incremental_refresh_that_finds_nothing_still_confirms_the_figures(
        refresher: ErpRefresher, migrated_engine: Engine) -> None:
    from gateway.erp.snapshot import erp_snapshot_for

    refresher.full()
    before = erp_snapshot_for(migrated_engine, ("erp2", "1"))
    assert before is not None and before.confirmed_at is not None
    nothing = refresher.incremental()
    assert nothing.rows_written == 0
    after = erp_snapshot_for(migrated_engine, ("erp2", "1"))
    assert after is not None and after.confirmed_at is not None
    assert after.confirmed_at > before.confirmed_at  # confirmed again, though nothing changed
    assert after.changed_at == before.changed_at
    assert after.summary.confirmed_at == after.confirmed_at


# The server terminates the gateway's sessions on purpose: psycopg's named cursor may then warn
# when it is collected, as it cannot be closed on a dead connection.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_erp_going_away_mid_refresh_applies_nothing_half_and_moves_no_watermark(
        migrated_engine: Engine, erp: Erp) -> None:
    """The ERP goes away after the first page of a full refresh (the SQLite file moved away and
    the connections dropped; on PostgreSQL the gateway's sessions terminated by the server and
    the customer table gone): the refresh fails with a connector error, the cursors and the
    confirmation time stay where the last successful refresh left them, and no customer is
    marked deleted."""
    first = refresher_on(migrated_engine, erp)
    first.full()
    first.source.close()
    store = SnapshotStore(migrated_engine, "erp2")
    cursors, confirmed = store.cursors(), store.confirmed_at()
    with erp.engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET credit_flag = 'X', changed_on = :t"),
                     {"t": datetime(2026, 12, 1, 9, 0, 0)})
    plain: Any = None
    calls = {"n": 0}

    def vanishing(record: Any, as_of: datetime) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            _take_erp_away(erp, gone)
        return plain(record, as_of)

    gone = refresher_on(migrated_engine, erp, url=_tagged(erp.url))
    plain = gone.to_summary
    gone.to_summary = vanishing
    gone.source.batch_size = 4  # type: ignore[attr-defined]
    try:
        with pytest.raises(ConnectorError):
            gone.full()
    finally:
        gone.source.close()
    assert calls["n"] >= 1
    assert store.cursors() == cursors
    assert store.confirmed_at() == confirmed
    assert store.counts() == {"live": 30, "deleted": 0}
    _bring_erp_back(erp)
    back = refresher_on(migrated_engine, erp)
    try:
        back.incremental()
    finally:
        back.source.close()
    assert sample.snapshot_figures(migrated_engine) == sample.expected_figures(erp.engine)


APP_NAME = f"cpex_erp_away_{secrets.token_hex(4)}"


def _tagged(url: str) -> str:
    """The ERP URL with an application name that finds the gateway's sessions (PostgreSQL)."""
    if url.startswith("sqlite"):
        return url
    return f"{url}&application_name={APP_NAME}"


def _take_erp_away(erp: Erp, refresher: ErpRefresher) -> None:
    if erp.path is not None:
        erp.path.rename(erp.path.with_suffix(".away"))
        refresher.source.close()  # the pooled connections drop; new ones find no file
        return
    with erp.engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "application_name = :name"), {"name": APP_NAME})
        conn.exec_driver_sql("ALTER TABLE accounts RENAME TO accounts_away")


def _bring_erp_back(erp: Erp) -> None:
    if erp.path is not None:
        erp.path.with_suffix(".away").rename(erp.path)
        return
    with erp.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE accounts_away RENAME TO accounts")


@pytest.mark.parametrize(("figure", "message"), [
    ("SUM(lines.quantity); DROP TABLE accounts", r"unexpected character ';'"),
    ("SUM((SELECT 1))", r"write columns as table.column \('SELECT'\)"),
    ("pg_sleep(10)", r"write columns as table.column|unexpected"),
    ("SUM(lines.quantity) -- comment", r"table.column \('comment'\)"),
    ("lines.quantity", r"outside an aggregate"),
    ("SUM(SUM(lines.quantity))", r"SUM inside another aggregate"),
    ("SUM(accounts.credit_flag)", r"table 'accounts' is not declared"),
    ("SUM(lines.quantity) + SUM(invoices.due)", r"not on one chain"),
    ("SUM(lines.quantity * 'x''; --')", None),  # a string is a bound value: accepted
])
def test_figure_expressions_are_parsed_not_pasted(figure: str, message: str | None) -> None:
    options = sample.options("sqlite:///unused.db")
    options["figures"]["lifetime_value"] = figure
    if message is None:
        erp_settings_from({"version": 1, "erp": options}, file="erp.toml", base_dir=Path("."))
        return
    with pytest.raises(ConfigError, match=message) as caught:
        erp_settings_from({"version": 1, "erp": options}, file="erp.toml", base_dir=Path("."))
    assert caught.value.key == "erp.figures.lifetime_value"
    assert caught.value.file == "erp.toml"


def test_a_column_the_erp_does_not_have_is_named_with_its_figure(erp: Erp,
                                                                  migrated_engine: Engine
                                                                  ) -> None:
    figures = {**sample.options(erp.url)["figures"],
               "lifetime_value": "SUM(lines.qty_typo * lines.unit_price)"}
    refresher = refresher_on(migrated_engine, erp, figures=figures)
    try:
        with pytest.raises(ConnectorError, match=r"qty_typo"):
            refresher.full()
    finally:
        refresher.source.close()
