"""ERP refresh on PostgreSQL: figures only and with master data through the pipeline, against
the ingest pipeline's own rate and the raw COPY ceilings. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_erp_refresh.py                      # 20,000 customers
    .venv/bin/python bench/bench_erp_refresh.py --customers 100000

The ERP (N customers with names, e-mails and addresses, 5N orders, 15N order lines without a
change column, N invoices) is generated in its own PostgreSQL schema with ``generate_series``,
with the indexes a real ERP has: primary keys, foreign keys (orders and invoices to customers,
lines to orders) with an index on each (orders by customer, lines by order), and (modified, key)
on each table with a modified column. Amounts are ``numeric(12,2)``. Orders' customers are
spread over the table, as in an ERP that has taken orders for years.

Printed, in one run (each CRM base a fresh schema):

1. figures only (the order value as the sum of its lines, a declared figure; lines followed by
   checksums): first full refresh, then a full refresh with no changes (the baseline);
2. with master data (``erp-customers-master.yaml`` through the ingest pipeline): first full
   load into an empty CRM base in profiles/s, and the same rows through the pipeline alone
   (the ingest rate on this machine, now) with the ratio; then a full refresh with no changes
   (target: at most 2x the figures-only one);
3. an incremental refresh after 1 % of customers (names), orders and order lines changed
   (target: at most 3 % of the full refresh time);
4. the raw COPY ceilings: the snapshot rows the full refresh writes, and (context) the ERP rows
   it reads.
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine

from gateway.config import load_settings
from gateway.erp.refresh import ErpRefresher
from gateway.erp.service import refresher_for
from gateway.erp.settings import erp_settings_from
from gateway.pipeline.runner import Batch, Pipeline
from gateway.runtime import Gateway
from gateway.store.engine import make_engine, with_search_path
from gateway.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

ERP_DDL = """
CREATE TABLE customers (customer_no bigint PRIMARY KEY, first_name text, last_name text,
    company text, email text, street text, postcode text, city text, country char(2),
    credit_status text NOT NULL, currency char(3) NOT NULL, modified_at timestamp NOT NULL);
CREATE TABLE orders (order_no bigint PRIMARY KEY,
    customer_no bigint NOT NULL REFERENCES customers (customer_no),
    order_date date NOT NULL, total numeric(12,2) NOT NULL, modified_at timestamp NOT NULL);
CREATE TABLE order_lines (line_no bigint PRIMARY KEY,
    order_no bigint NOT NULL REFERENCES orders (order_no), quantity int NOT NULL,
    unit_price numeric(12,2) NOT NULL, discount_pct numeric(5,2));
CREATE TABLE invoices (invoice_no bigint PRIMARY KEY,
    customer_no bigint NOT NULL REFERENCES customers (customer_no),
    open_amount numeric(12,2) NOT NULL, modified_at timestamp NOT NULL);
INSERT INTO customers SELECT i, 'Given' || (i % 997), 'Family' || i, NULL,
    'customer' || i || '@example.com', (i % 300) || ' Main Street', lpad((i % 99999)::text, 5,
    '0'), (ARRAY['Berlin','Hamburg','Munich','Cologne'])[1 + i % 4], 'DE',
    (ARRAY['OK','OK','OK','WATCH','HOLD'])[1 + i % 5],
    (ARRAY['EUR','EUR','GBP'])[1 + i % 3], timestamp '2024-01-01' + (i % 86400) * interval '1 s'
    FROM generate_series(1::bigint, :n) i;
INSERT INTO orders SELECT i, 1 + (i * 7919) % :n, date '2020-01-01' + (i % 1500)::int,
    ((i * 37) % 100000) / 100.0, timestamp '2024-01-01' + (i % 86400) * interval '1 s'
    FROM generate_series(1::bigint, 5 * :n) i;
INSERT INTO order_lines SELECT i, 1 + (i - 1) / 3, 1 + i % 7, ((i * 53) % 20000) / 100.0,
    CASE WHEN i % 5 = 0 THEN 10 END FROM generate_series(1::bigint, 15 * :n) i;
INSERT INTO invoices SELECT i, 1 + (i * 104729) % :n, CASE WHEN i % 4 = 0 THEN (i % 5000) / 10.0
    ELSE 0 END, timestamp '2024-01-01' + (i % 86400) * interval '1 s'
    FROM generate_series(1::bigint, :n) i;
CREATE INDEX ON customers (modified_at, customer_no);
CREATE INDEX ON orders (modified_at, order_no);
CREATE INDEX ON orders (customer_no);
CREATE INDEX ON order_lines (order_no);
CREATE INDEX ON invoices (modified_at, invoice_no);
CREATE INDEX ON invoices (customer_no);
ANALYZE;
"""

CHANGE = """
UPDATE customers SET last_name = last_name || '-Neu', modified_at = now()
    WHERE customer_no % 100 = 7;
UPDATE orders SET order_date = order_date + 1, modified_at = now() WHERE order_no % 100 = 3;
UPDATE order_lines SET quantity = quantity + 1 WHERE line_no % 100 = 5;
"""


def erp_options(url: str, batch_size: int, lines: str) -> dict[str, Any]:
    return {
        "url": url, "batch_size": batch_size, "source_system": "erp",
        "customers": {"table": "customers", "key": "customer_no", "modified": "modified_at",
                      "credit_status": "credit_status", "currency": "currency",
                      "columns": ["first_name", "last_name", "company", "email", "street",
                                  "postcode", "city", "country"]},
        "orders": {"table": "orders", "key": "order_no", "customer": "customer_no",
                   "modified": "modified_at", "date": "order_date"},
        "invoices": {"table": "invoices", "key": "invoice_no", "customer": "customer_no",
                     "modified": "modified_at", "open_amount": "open_amount"},
        "tables": {"lines": {"table": "order_lines", "key": "line_no", "parent": "orders",
                             "parent_key": "order_no", "changes": lines}},
        "figures": {"lifetime_value": "SUM(lines.quantity * lines.unit_price * (100 - "
                                      "COALESCE(lines.discount_pct, 0)) / 100)"},
        "mapping": "erp-customers-sql.yaml",
    }


def gateway_on(url: str, engine: Engine) -> Gateway:
    settings = load_settings(REPO / "config" / "gateway.toml", environ={},
                             overrides={"database.url": url,
                                        "paths.mappings": str(REPO / "mappings"),
                                        "paths.schemas": str(REPO / "schemas")})
    return Gateway(settings, _engine=engine)


def timed(label: str, run: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - t0
    describe = getattr(result, "describe", None)
    print(f"{label}: {elapsed:.2f} s" + (f" ({describe()})" if describe else ""))
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--lines", choices=("checksum", "reconcile"), default="checksum",
                        help="how incremental refreshes follow the order lines (no change "
                             "column): checksums on every run, or left to reconciliation")
    args = parser.parse_args()
    n = args.customers
    tag = secrets.token_hex(4)
    schemas = {name: f"bench_{name}_{tag}" for name in ("erp", "figures", "master", "ingest")}
    server = create_engine(args.url)
    with server.begin() as conn:
        for schema in schemas.values():
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    urls = {name: with_search_path(args.url, schema).render_as_string(hide_password=False)
            for name, schema in schemas.items()}
    engines = {name: make_engine(urls[name]) for name in ("figures", "master", "ingest")}
    refreshers: list[ErpRefresher] = []
    try:
        started = time.perf_counter()
        erp = create_engine(urls["erp"])
        with erp.begin() as conn:
            for statement in ERP_DDL.replace(":n", str(n)).split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement.replace("%", "%%"))
        for engine in engines.values():
            upgrade(engine)
        print(f"setup: ERP with {n:,} customers, {5 * n:,} orders, {15 * n:,} order lines, "
              f"{n:,} invoices in {time.perf_counter() - started:.1f} s")
        options = erp_options(urls["erp"], args.batch_size, args.lines)
        print(f"order lines followed by: {args.lines}")

        # 1. figures only
        figures_gw = gateway_on(urls["figures"], engines["figures"])
        figures = refresher_for(figures_gw, erp_settings_from(
            {"version": 1, "erp": options}, file="bench", base_dir=REPO))
        refreshers.append(figures)
        first_s, first = timed("figures only, first full refresh", figures.full)
        plain_s, _ = timed("figures only, full refresh with no changes (baseline)",
                           figures.full)

        # 2. master data through the pipeline
        master_gw = gateway_on(urls["master"], engines["master"])
        master = refresher_for(master_gw, erp_settings_from(
            {"version": 1, "erp": {**options, "master_mapping": "erp-customers-master.yaml"}},
            file="bench", base_dir=REPO))
        refreshers.append(master)
        load_s, load = timed("with master data, first full load into an empty CRM base",
                             master.full)
        profiles = load.master.outcomes["created"]
        load_rate = profiles / load_s
        ingest_rate = pipeline_rate(urls["ingest"], engines["ingest"], erp, n)
        print(f"first full load: {load_rate:,.0f} profiles/s; the ingest pipeline alone on the "
              f"same rows: {ingest_rate:,.0f} profiles/s (ratio {load_rate / ingest_rate:.0%})")
        again_s, _ = timed("with master data, full refresh with no changes", master.full)
        print(f"full refresh with no changes = {again_s / plain_s:.2f}x the figures-only one "
              "(target <= 2x)")

        # 3. incremental after 1 % changes
        with erp.begin() as conn:
            for statement in CHANGE.split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement.replace("%", "%%"))
        incr_s, _ = timed("incremental after 1 % of customers, orders and order lines changed",
                          master.incremental)
        print(f"incremental = {incr_s / again_s:.1%} of the full refresh time (target <= 3 %)")
        check = master.full()
        print(f"check: a full refresh after it finds {check.rows_written - check.rows_unchanged}"
              " customers whose figures the incremental refresh missed (0 with checksums; with "
              "reconcile, the customers of changed lines until the next reconciliation)")

        # 4. ceilings
        ceiling_s = copy_ceiling(engines["figures"], "erp_customer")
        print(f"raw COPY of the {first.rows_written:,} snapshot rows a full refresh writes into "
              f"an empty table: {ceiling_s:.2f} s; figures-only first full refresh = "
              f"{ceiling_s / first_s:.1%} of that ceiling")
        read_s = sum(copy_ceiling(erp, name)
                     for name in ("customers", "orders", "order_lines", "invoices"))
        print(f"context: raw COPY of the ERP rows a full refresh reads ({22 * n:,}) into empty "
              f"tables: {read_s:.2f} s; figures-only first full refresh = "
              f"{read_s / first_s:.1%} of that")
        erp.dispose()
    finally:
        for refresher in refreshers:
            refresher.source.close()
        for engine in engines.values():
            engine.dispose()
        with server.begin() as conn:
            for schema in schemas.values():
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        server.dispose()


def pipeline_rate(url: str, engine: Engine, erp: Engine, n: int) -> float:
    """Profiles/s of the ingest pipeline alone (map, validate, resolve, store, outbox) on the
    ERP's customer rows, read beforehand, into an empty CRM base."""
    gateway = gateway_on(url, engine)
    with erp.connect() as conn:
        result = conn.exec_driver_sql(
            "SELECT customer_no, first_name, last_name, company, email, street, postcode, city, "
            "country, credit_status, currency, now() AS extracted_at FROM customers")
        rows = [dict(r._mapping) for r in result]
    pipeline = Pipeline(gateway, Batch(source_system="erp", source="bench",
                                       mapping="erp-customers-master.yaml"), keep_outcomes=False)
    t0 = time.perf_counter()
    report = pipeline.run_decoded(pipeline.decoder.row(row, i) for i, row in
                                  enumerate(rows, start=1))
    elapsed = time.perf_counter() - t0
    return report.counts["created"] / elapsed


def copy_ceiling(engine: Engine, table: str) -> float:
    """Seconds to COPY the rows of ``table`` (dumped first, not timed) into an empty table of
    the same columns, in the same schema (``copy_<table>``, dropped with the schema)."""
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
