"""A second ERP, unlike the demo's: a classic order-management schema.

Company accounts with contact persons, countries by English name, local phone formats; sales
orders whose amount is the sum of their lines (quantity x unit price less a discount in
percent); order lines *without* a change column; open items (due and paid) instead of invoices
with an open amount. Built on SQLite or on a PostgreSQL schema with the indexes a real ERP has
(primary keys, foreign keys, orders by account, lines by order).

:func:`expected_figures` computes every account's figures with plain SQL written here, not by
the connector, so a test compares the refresh with an independent answer.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

DDL = (
    """CREATE TABLE accounts (
        account_id INTEGER PRIMARY KEY,
        company_name VARCHAR(120) NOT NULL,
        vat_no VARCHAR(20),
        street VARCHAR(200), zip VARCHAR(12), town VARCHAR(80),
        country_name VARCHAR(60) NOT NULL,
        phone VARCHAR(30),
        credit_flag VARCHAR(1) NOT NULL,
        currency_code VARCHAR(3) NOT NULL,
        changed_on TIMESTAMP NOT NULL)""",
    "CREATE INDEX ix_accounts_changed ON accounts (changed_on, account_id)",
    """CREATE TABLE contacts (
        contact_id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts (account_id),
        first_name VARCHAR(60), last_name VARCHAR(60) NOT NULL,
        email VARCHAR(200), mobile VARCHAR(30), is_primary INTEGER NOT NULL)""",
    "CREATE INDEX ix_contacts_account ON contacts (account_id)",
    """CREATE TABLE sales_orders (
        order_id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts (account_id),
        ordered_on DATE NOT NULL,
        state VARCHAR(10) NOT NULL,
        changed_on TIMESTAMP NOT NULL)""",
    "CREATE INDEX ix_sales_orders_account ON sales_orders (account_id)",
    "CREATE INDEX ix_sales_orders_changed ON sales_orders (changed_on, order_id)",
    """CREATE TABLE order_lines (
        line_id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES sales_orders (order_id),
        article VARCHAR(20) NOT NULL,
        quantity INTEGER NOT NULL,
        unit_price NUMERIC(12, 2) NOT NULL,
        discount_pct NUMERIC(5, 2))""",
    "CREATE INDEX ix_order_lines_order ON order_lines (order_id)",
    """CREATE TABLE open_items (
        item_id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts (account_id),
        due NUMERIC(12, 2) NOT NULL,
        paid NUMERIC(12, 2) NOT NULL,
        changed_on TIMESTAMP NOT NULL)""",
    "CREATE INDEX ix_open_items_account ON open_items (account_id)",
    "CREATE INDEX ix_open_items_changed ON open_items (changed_on, item_id)",
)

COUNTRIES = ("Germany", "France", "United Kingdom", "Netherlands", "Austria", "Switzerland")
# each country's phone number as written there (no country code); E.164 in the profile
PHONES = ("089 1234567", "01 42 68 53 00", "020 7946 0958", "020 555 0101", "01 5128800",
          "044 668 18 00")
E164 = ("+49891234567", "+33142685300", "+442079460958", "+31205550101", "+4315128800",
        "+41446681800")
ALPHA2 = ("DE", "FR", "GB", "NL", "AT", "CH")
FLAGS = ("A", "A", "A", "B", "C", "X")  # A good, B watch, C hold, X blocked


def phone_of(account: int, e164: bool = False) -> str:
    """The account's phone number (its country's plan, its own last two digits)."""
    n = account % len(COUNTRIES)
    return (E164 if e164 else PHONES)[n][:-2] + f"{account % 100:02d}"


CREDIT_CODES = {"A": "good", "B": "watch", "C": "hold", "X": "blocked"}
BASE = datetime(2026, 11, 2, 8, 0, 0)


def create(erp: Engine, accounts: int = 30, seed: int = 7) -> None:
    """The sample ERP in ``erp`` (an empty SQLite file or PostgreSQL schema)."""
    rng = random.Random(seed)
    with erp.begin() as conn:
        for statement in DDL:
            conn.exec_driver_sql(statement)
        order_id = line_id = item_id = contact_id = 0
        for account in range(1, accounts + 1):
            conn.execute(text(
                "INSERT INTO accounts VALUES (:id, :name, :vat, :street, :zip, :town, :country, "
                ":phone, :flag, :cur, :changed)"), {
                "id": account, "name": f"Muster {account} GmbH", "vat": f"DE{100000 + account}",
                "street": f"Industriestraße {account}", "zip": f"{80000 + account}",
                "town": "München", "country": COUNTRIES[account % len(COUNTRIES)],
                "phone": phone_of(account), "flag": FLAGS[account % len(FLAGS)],
                "cur": "EUR", "changed": BASE + timedelta(minutes=account)})
            for person in range(1 + account % 3):
                contact_id += 1
                conn.execute(text(
                    "INSERT INTO contacts VALUES (:id, :acc, :first, :last, :email, :mobile, "
                    ":primary)"), {
                    "id": contact_id, "acc": account, "first": f"Vorname{contact_id}",
                    "last": f"Nachname{contact_id}",
                    "email": f"person{contact_id}@muster{account}.example",
                    "mobile": PHONES[contact_id % len(PHONES)], "primary": int(person == 0)})
            for _ in range(account % 5):  # some accounts have no orders at all
                order_id += 1
                ordered = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
                conn.execute(text("INSERT INTO sales_orders VALUES (:id, :acc, :on, 'open', "
                                  ":changed)"), {"id": order_id, "acc": account, "on": ordered,
                                                 "changed": BASE})
                for _ in range(1 + rng.randrange(4)):
                    line_id += 1
                    add_line(conn, line_id, order_id, rng)
            for _ in range(account % 4):
                item_id += 1
                due = Decimal(rng.randrange(1000, 90000)) / 100
                paid = due if rng.random() < 0.5 else Decimal(rng.randrange(0, 1000)) / 100
                conn.execute(text("INSERT INTO open_items VALUES (:id, :acc, :due, :paid, "
                                  ":changed)"), {"id": item_id, "acc": account, "due": str(due),
                                                 "paid": str(paid), "changed": BASE})


def add_line(conn: Any, line_id: int, order_id: int, rng: random.Random) -> None:
    """One order line. Prices in tens of cents and discounts in tens of percent: every line's
    amount has exactly two decimals, so no rounding rule can make two right answers."""
    conn.execute(text("INSERT INTO order_lines VALUES (:id, :order, :article, :qty, :price, "
                      ":discount)"), {
        "id": line_id, "order": order_id, "article": f"ART-{rng.randrange(100, 999)}",
        "qty": 1 + rng.randrange(9), "price": str(Decimal(rng.randrange(10, 5000)) / 10),
        "discount": rng.choice([None, "0", "10", "20", "50"])})


def options(url: str, *, lines: str = "checksum") -> dict[str, Any]:
    """``[erp]`` for this ERP: order value summed from the lines (a declared figure over a
    joined table without a change column, followed by ``lines``), open items as invoices."""
    return {
        "url": url,
        "source_system": "erp2",
        "credit_codes": dict(CREDIT_CODES),
        "batch_size": 7,
        "round_size": 5,
        "full_chunk_size": 11,
        "full_batch_size": 4,
        "customers": {"table": "accounts", "key": "account_id", "modified": "changed_on",
                      "credit_status": "credit_flag", "currency": "currency_code",
                      "columns": ["company_name", "country_name", "phone"]},
        "orders": {"table": "sales_orders", "key": "order_id", "customer": "account_id",
                   "modified": "changed_on", "date": "ordered_on"},
        "invoices": {"table": "open_items", "key": "item_id", "customer": "account_id",
                     "modified": "changed_on"},
        "tables": {"lines": {"table": "order_lines", "key": "line_id", "parent": "orders",
                             "parent_key": "order_id", "changes": lines}},
        "figures": {
            "lifetime_value": "SUM(lines.quantity * lines.unit_price "
                              "* (100 - COALESCE(lines.discount_pct, 0)) / 100)",
            "balance": "SUM(invoices.due - invoices.paid)",
            "open_invoices": "COUNT(CASE WHEN invoices.due - invoices.paid > 0 THEN 1 END)",
        },
    }


def expected_figures(erp: Engine) -> dict[str, tuple[Any, ...]]:
    """Every account's (credit status, order count, lifetime value, last order date, open
    items, balance), by SQL written here: amounts as exact text with two decimals."""
    out: dict[str, tuple[Any, ...]] = {}
    with erp.connect() as conn:
        accounts = conn.execute(text(
            "SELECT account_id, credit_flag FROM accounts")).all()
        orders = {r[0]: (r[1], r[2]) for r in conn.execute(text(
            "SELECT account_id, count(*), max(ordered_on) FROM sales_orders "
            "GROUP BY account_id"))}
        value = {r[0]: r[1] for r in conn.execute(text(
            "SELECT o.account_id, sum(l.quantity * l.unit_price * (100 - coalesce("
            "l.discount_pct, 0))) FROM order_lines l JOIN sales_orders o "
            "ON o.order_id = l.order_id GROUP BY o.account_id"))}
        items = {r[0]: (r[1], r[2]) for r in conn.execute(text(
            "SELECT account_id, sum(CASE WHEN due > paid THEN 1 ELSE 0 END), "
            "sum(due * 100 - paid * 100) FROM open_items GROUP BY account_id"))}
    for account, flag in accounts:
        count, last = orders.get(account, (0, None))
        # hundredths of a percent of cents: integral on both databases, then cents exactly
        cents_x100 = Decimal(str(value.get(account) or 0))
        lifetime = (cents_x100 / 100).quantize(Decimal("0.01"))
        open_n, balance_cents = items.get(account, (0, 0))
        balance = (Decimal(str(balance_cents or 0)) / 100).quantize(Decimal("0.01"))
        out[str(account)] = (CREDIT_CODES[flag], int(count), f"{lifetime:.2f}",
                             str(last)[:10] if last else None, int(open_n or 0), f"{balance:.2f}")
    return out


def snapshot_figures(crm: Engine, system: str = "erp2") -> dict[str, tuple[Any, ...]]:
    """The live snapshot rows in the shape of :func:`expected_figures`."""
    from gateway.erp.snapshot import SnapshotStore

    out = {}
    for key, row in SnapshotStore(crm, system).rows():
        if row["deleted_at"] is None:
            out[key] = (row["credit_status"], row["order_count"],
                        f"{row['lifetime_value']:.2f}",
                        row["last_order_date"].isoformat() if row["last_order_date"] else None,
                        row["open_invoices"], f"{row['balance']:.2f}")
    return out
