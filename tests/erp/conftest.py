"""An ERP (the demo generator, SQLite) and a refresher on the test's CRM base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.erp.demo import DEMO_CREDIT_CODES, create_demo_erp, demo_erp_options
from gateway.erp.refresh import ColumnSummaryMapper, ErpRefresher
from gateway.erp.settings import ErpSettings, erp_settings_from
from tests.scheduler.conftest import gateway  # noqa: F401  (a gateway on the repo's config)


def erp_settings(path: Path, **overrides: Any) -> ErpSettings:
    """The demo ERP's settings with the explicit column mapping (``credit_codes``) instead of
    the mapping file it ships with; ``overrides`` replace keys of ``[erp]``."""
    options = demo_erp_options(path)
    del options["mapping"]
    options["credit_codes"] = dict(DEMO_CREDIT_CODES)
    options.update(overrides)
    return erp_settings_from({"version": 1, "erp": options}, file="test", base_dir=path.parent)


def make_refresher(engine: Engine, erp: ErpSettings) -> ErpRefresher:
    return ErpRefresher(engine, erp.open(), ColumnSummaryMapper(erp.credit_codes))


@pytest.fixture
def erp_path(tmp_path: Path) -> Path:
    path = tmp_path / "erp" / "erp.db"
    create_demo_erp(path)
    return path


@pytest.fixture
def refresher(migrated_engine: Engine, erp_path: Path) -> Iterator[ErpRefresher]:
    made = make_refresher(migrated_engine, erp_settings(erp_path))
    yield made
    made.source.close()


def expected_from_erp(path: Path) -> dict[str, tuple[Any, ...]]:
    """Each ERP customer's figures computed straight from the ERP tables (not by the connector):
    (credit code, order count, lifetime value, last order date, open invoices, balance)."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            customers = dict(conn.execute(text(
                "SELECT customer_no, credit_status FROM customers")).all())
            orders = {r[0]: r[1:] for r in conn.execute(text(
                "SELECT customer_no, count(*), round(sum(total), 2), max(order_date) "
                "FROM orders GROUP BY customer_no"))}
            invoices = {r[0]: r[1:] for r in conn.execute(text(
                "SELECT customer_no, sum(open_amount > 0), round(sum(open_amount), 2) "
                "FROM invoices GROUP BY customer_no"))}
    finally:
        engine.dispose()
    out = {}
    for key, credit in customers.items():
        count, value, last = orders.get(key, (0, 0.0, None))
        open_n, balance = invoices.get(key, (0, 0.0))
        out[key] = (credit, count, f"{value:.2f}", str(last) if last else None, open_n,
                    f"{balance:.2f}")
    return out


CREDIT = {"good": "OK", "watch": "WATCH", "hold": "HOLD", "blocked": "BLOCK"}


def snapshot_as_erp(engine: Engine, system: str = "erp") -> dict[str, tuple[Any, ...]]:
    """The live snapshot rows in the shape of :func:`expected_from_erp`."""
    from gateway.erp.snapshot import SnapshotStore

    out = {}
    for key, row in SnapshotStore(engine, system).rows():
        if row["deleted_at"] is not None:
            continue
        out[key] = (CREDIT[row["credit_status"]], row["order_count"],
                    f"{row['lifetime_value']:.2f}",
                    row["last_order_date"].isoformat() if row["last_order_date"] else None,
                    row["open_invoices"], f"{row['balance']:.2f}")
    return out
