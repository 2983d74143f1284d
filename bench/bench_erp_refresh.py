"""ERP refresh on PostgreSQL: full refresh vs. the raw COPY ceiling, and an incremental refresh
after 1 % of customers and orders changed. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_erp_refresh.py                      # 20,000 customers
    .venv/bin/python bench/bench_erp_refresh.py --customers 1000000  # the issue's full size
    .venv/bin/python bench/bench_erp_refresh.py --mapping            # with the mapping file

The ERP (N customers, 5N orders, N invoices) is generated in its own PostgreSQL schema with
``generate_series``; the CRM base is migrated into another. Both are dropped at the end.
The ERP gets the indexes the connector expects of a real ERP (config/README.md): primary keys,
an index on the customer column of orders and invoices (their foreign key), and one on
(modified, key) of each table. Amounts are ``numeric(12,2)``. Orders' customers are spread over
the table (not clustered by customer), as in an ERP that has taken orders for years.

Two COPY references are printed. The headline ceiling, the one the target is measured against,
is the raw COPY of the rows the full refresh *writes* (the snapshot rows, one per customer) into
an empty table. The second, for context only, is the raw COPY of the rows it *reads* (customers,
orders and invoices, 7N rows) into empty tables: what moving the ERP's data takes at all.

``--mapping`` maps records with mappings/erp-customers-sql.yaml (what config/erp.toml ships)
instead of the column mapping; ``--again`` also times a second full refresh over the rows the
first one wrote (a scheduled full refresh; merge instead of the first load's straight COPY).
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine

from gateway.erp.refresh import (
    ColumnSummaryMapper,
    ErpRefresher,
    MappingSummaryMapper,
    SummaryMapper,
)
from gateway.erp.settings import erp_settings_from
from gateway.mapping import load_mapping
from gateway.store.engine import make_engine, with_search_path
from gateway.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

ERP_DDL = """
CREATE TABLE customers (customer_no bigint PRIMARY KEY, name text, credit_status text NOT NULL,
    currency char(3) NOT NULL, modified_at timestamp NOT NULL);
CREATE TABLE orders (order_no bigint PRIMARY KEY, customer_no bigint NOT NULL,
    order_date date NOT NULL, total numeric(12,2) NOT NULL, modified_at timestamp NOT NULL);
CREATE TABLE invoices (invoice_no bigint PRIMARY KEY, customer_no bigint NOT NULL,
    open_amount numeric(12,2) NOT NULL, modified_at timestamp NOT NULL);
INSERT INTO customers SELECT i, 'Customer ' || i,
    (ARRAY['OK','OK','OK','WATCH','HOLD'])[1 + i % 5],
    (ARRAY['EUR','EUR','GBP'])[1 + i % 3], timestamp '2024-01-01' + (i % 86400) * interval '1 s'
    FROM generate_series(1::bigint, :n) i;
INSERT INTO orders SELECT i, 1 + (i * 7919) % :n, date '2020-01-01' + (i % 1500)::int,
    ((i * 37) % 100000) / 100.0, timestamp '2024-01-01' + (i % 86400) * interval '1 s'
    FROM generate_series(1::bigint, 5 * :n) i;
INSERT INTO invoices SELECT i, 1 + (i * 104729) % :n, CASE WHEN i % 4 = 0 THEN (i % 5000) / 10.0
    ELSE 0 END, timestamp '2024-01-01' + (i % 86400) * interval '1 s'
    FROM generate_series(1::bigint, :n) i;
CREATE INDEX ON customers (modified_at, customer_no);
CREATE INDEX ON orders (modified_at, order_no);
CREATE INDEX ON orders (customer_no);
CREATE INDEX ON invoices (modified_at, invoice_no);
CREATE INDEX ON invoices (customer_no);
ANALYZE;
"""

CHANGE = """
UPDATE customers SET credit_status = 'HOLD', modified_at = now()
    WHERE customer_no % 100 = 7;
UPDATE orders SET total = total + 1, modified_at = now() WHERE order_no % 100 = 3;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--mapping", action="store_true",
                        help="map with mappings/erp-customers-sql.yaml (the shipped config)")
    parser.add_argument("--again", action="store_true",
                        help="also time a second full refresh over the existing snapshot")
    args = parser.parse_args()
    n = args.customers
    tag = secrets.token_hex(4)
    erp_schema, crm_schema = f"bench_erp_{tag}", f"bench_crm_{tag}"
    server = create_engine(args.url)
    with server.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {erp_schema}; CREATE SCHEMA {crm_schema}")
    erp_url = with_search_path(args.url, erp_schema).render_as_string(hide_password=False)
    crm = make_engine(with_search_path(args.url, crm_schema))
    try:
        started = time.perf_counter()
        erp = create_engine(erp_url)
        with erp.begin() as conn:
            for statement in ERP_DDL.replace(":n", str(n)).split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement.replace("%", "%%"))
        upgrade(crm)
        print(f"setup: ERP with {n:,} customers, {5 * n:,} orders, {n:,} invoices in "
              f"{time.perf_counter() - started:.1f} s")
        settings = erp_settings_from({"version": 1, "erp": {
            "url": erp_url, "batch_size": args.batch_size,
            "credit_codes": {"OK": "good", "WATCH": "watch", "HOLD": "hold"},
            "customers": {"table": "customers", "key": "customer_no", "modified": "modified_at",
                          "credit_status": "credit_status", "currency": "currency"},
            "orders": {"table": "orders", "key": "order_no", "customer": "customer_no",
                       "modified": "modified_at", "amount": "total", "date": "order_date"},
            "invoices": {"table": "invoices", "key": "invoice_no", "customer": "customer_no",
                         "modified": "modified_at", "open_amount": "open_amount"},
        }}, file="bench", base_dir=Path.cwd())
        mapper: SummaryMapper = ColumnSummaryMapper(settings.credit_codes)
        if args.mapping:
            mapper = MappingSummaryMapper(load_mapping(REPO / "mappings" /
                                                       "erp-customers-sql.yaml"))
        refresher = ErpRefresher(crm, settings.open(), mapper)
        print(f"mapping: {'mappings/erp-customers-sql.yaml' if args.mapping else 'columns'}")

        t0 = time.perf_counter()
        full = refresher.full()
        full_s = time.perf_counter() - t0
        print(f"full refresh: {full_s:.2f} s ({full.rows_written / full_s:,.0f} customers/s; "
              f"{full.describe()})")

        ceiling_s = copy_ceiling(crm, "erp_customer")
        print(f"raw COPY of the same {full.rows_written:,} rows into an empty table: "
              f"{ceiling_s:.2f} s ({full.rows_written / ceiling_s:,.0f} rows/s)")
        print(f"full refresh speed = {ceiling_s / full_s:.1%} of the COPY ceiling "
              "(target >= 30 %)")
        if args.again:
            t0 = time.perf_counter()
            again = refresher.full()
            again_s = time.perf_counter() - t0
            print(f"second full refresh (merge over existing rows): {again_s:.2f} s "
                  f"({again.describe()})")

        with erp.begin() as conn:
            for statement in CHANGE.split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement.replace("%", "%%"))
        t0 = time.perf_counter()
        incremental = refresher.incremental()
        incr_s = time.perf_counter() - t0
        print(f"incremental after 1 % of customers and orders changed: {incr_s:.2f} s "
              f"({incremental.describe()})")
        print(f"incremental = {incr_s / full_s:.2%} of the full refresh time (target <= 3 %)")
        # After the timed refreshes, so that it cannot warm or cool their caches.
        read_s = sum(copy_ceiling(erp, name) for name in ("customers", "orders", "invoices"))
        print(f"second reference (context, not the target's ceiling): raw COPY of the ERP rows "
              f"the full refresh reads ({n:,} customers + {5 * n:,} orders + {n:,} invoices) "
              f"into empty tables: {read_s:.2f} s; full refresh speed = {read_s / full_s:.1%} "
              "of that")
        refresher.source.close()
        erp.dispose()
    finally:
        crm.dispose()
        with server.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {erp_schema} CASCADE; "
                                 f"DROP SCHEMA {crm_schema} CASCADE")
        server.dispose()


def copy_ceiling(engine: object, table: str) -> float:
    """Seconds to COPY the rows of ``table`` (dumped first, not timed) into an empty table of
    the same columns, in the same schema (``copy_<table>``, dropped with the schema)."""
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        buffer = io.BytesIO()
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            cursor.execute(f"CREATE TABLE copy_{table} (LIKE {table})")
            raw.commit()
            data = buffer.getvalue()
            t0 = time.perf_counter()
            with cursor.copy(f"COPY copy_{table} FROM STDIN") as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start:start + (1 << 20)])
            raw.commit()
            elapsed = time.perf_counter() - t0
            cursor.execute(f"DROP TABLE copy_{table}")
            raw.commit()
            return elapsed


if __name__ == "__main__":
    main()
