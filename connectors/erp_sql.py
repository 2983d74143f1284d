"""Read an ERP database through SQLAlchemy: only the tables and columns the config names, read-only.

The gateway needs one record per ERP customer: the customer columns the config lists plus what
CRM users want from orders and invoices (order count, lifetime value, last order date, open
invoices, balance). Those figures are aggregated *in the ERP* for a page of customers at a time,
so a refresh moves one row per customer, not every order.

Incremental reads follow a cursor per table on (last-modified, primary key) with keyset pages::

    WHERE (modified, key) > (:modified, :key) ORDER BY modified, key LIMIT :n

Ordering on the key as well as the timestamp means rows that share a timestamp are neither
skipped at a page boundary nor read again for ever. A changed order or invoice re-reads its
customer's figures whole, so a page read twice (after a crash) sets the same values again: never
counted twice. Rows without a modified time are only seen by a full refresh; deleted rows leave
no trace to follow and are found by key reconciliation (:meth:`SqlErpConnector.keys`).

Read-only is enforced by the connection, not by good intentions: SQLite files are opened with
``mode=ro`` (a missing file is an error, never a new empty ERP) and PostgreSQL sessions start
with ``default_transaction_read_only=on``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Table,
    and_,
    case,
    create_engine,
    func,
    select,
    tuple_,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from connectors.base import ConnectorError, Cursor, RecordBatch, SourceRecord
from gateway.errors import ConfigError

log = logging.getLogger(__name__)

# Names of the aggregated figures added to every customer record.
FIGURES = ("order_count", "lifetime_value", "last_order_date", "open_invoices", "balance")
STREAMS = ("customers", "orders", "invoices")


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableOptions(_Options):
    table: str = Field(min_length=1)
    key: str = Field(min_length=1)
    modified: str | None = None  # last-modified column; without it only full refreshes see changes


class CustomerTable(TableOptions):
    columns: tuple[str, ...] = ()  # further columns handed to the mapping (names, addresses)
    credit_status: str | None = None
    currency: str | None = None


class OrderTable(TableOptions):
    customer: str = Field(min_length=1)
    amount: str = Field(min_length=1)
    date: str = Field(min_length=1)


class InvoiceTable(TableOptions):
    customer: str = Field(min_length=1)
    open_amount: str = Field(min_length=1)


class SqlErpOptions(_Options):
    """The ``[erp]`` section for ``connector = "erp_sql"`` (see config/README.md)."""

    url: str = Field(min_length=1)
    batch_size: int = Field(5000, ge=1, le=100_000)
    customers: CustomerTable
    orders: OrderTable | None = None
    invoices: InvoiceTable | None = None


class SqlErpConnector:
    """A :class:`connectors.base.RecordSource` over an ERP database."""

    Options = SqlErpOptions

    def __init__(self, name: str, options: SqlErpOptions, *, base_dir: Path | None = None) -> None:
        self.name = name
        self.options = options
        self.batch_size = options.batch_size
        self._url = _read_only_url(options.url, base_dir or Path.cwd())
        self._engine: Engine | None = None
        self._tables: dict[str, Table] = {}

    # --- the RecordSource protocol -----------------------------------------------------------

    def changes(self, cursors: Mapping[str, Cursor]) -> Iterator[RecordBatch]:
        """Pages of customers touched after ``cursors``, stream by stream, each with its cursor.

        :raises ConnectorError: no table names a ``modified`` column (nothing to follow).
        """
        if not any(self._spec(s).modified for s in self._streams()):
            raise ConnectorError(self.name, "no table names a 'modified' column in the config: "
                                 "incremental refresh impossible, use a full refresh")
        for stream in self._streams():
            spec = self._spec(stream)
            if spec.modified is None:
                continue
            cursor = cursors.get(stream)
            while True:
                page = self._changed_page(stream, cursor)
                if not page:
                    break
                modified, key, _customer = page[-1]
                cursor = Cursor(modified=modified, key=str(key))
                customer_keys = list(dict.fromkeys(row[2] for row in page))
                records = self._summaries(customer_keys)
                yield RecordBatch(stream, records, {stream: cursor}, rows_read=len(page))
                if len(page) < self.batch_size:
                    break

    def everything(self) -> Iterator[RecordBatch]:
        """Every customer, in key order; the last page carries the high-water cursors.

        The high-water marks are taken *before* reading, so a row changed while the refresh runs
        is after them and the next incremental run reads it again (idempotently).
        """
        high = self.high_water()
        customers = self._table("customers")
        key = customers.c[self.options.customers.key]
        last: Any = None
        page: list[Any] = []
        while True:
            query = select(key).order_by(key).limit(self.batch_size)
            if last is not None:
                query = query.where(key > last)
            page = [row[0] for row in self._fetch(f"reading {customers.name}", query)]
            if not page:
                break
            last = page[-1]
            done = len(page) < self.batch_size
            records = self._summaries(page, key_range=(page[0], page[-1]))
            yield RecordBatch("customers", records, high if done else {}, rows_read=len(page))
            if done:
                return
        yield RecordBatch("customers", (), high, rows_read=0)

    def keys(self) -> Iterator[list[str]]:
        """Every customer key in the ERP now, a page at a time."""
        customers = self._table("customers")
        key = customers.c[self.options.customers.key]
        last: Any = None
        while True:
            query = select(key).order_by(key).limit(self.batch_size)
            if last is not None:
                query = query.where(key > last)
            page = [row[0] for row in self._fetch(f"reading keys of {customers.name}", query)]
            if not page:
                return
            last = page[-1]
            yield [str(k) for k in page]
            if len(page) < self.batch_size:
                return

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- reading -----------------------------------------------------------------------------

    def high_water(self) -> dict[str, Cursor]:
        """The newest (modified, key) of every table with a modified column."""
        marks: dict[str, Cursor] = {}
        for stream in self._streams():
            spec = self._spec(stream)
            if spec.modified is None:
                continue
            table = self._table(stream)
            modified, key = table.c[spec.modified], table.c[spec.key]
            query = (
                select(modified, key)
                .where(modified.is_not(None))
                .order_by(modified.desc(), key.desc())
                .limit(1)
            )
            rows = self._fetch(f"reading the newest change of {table.name}", query)
            if rows:
                marks[stream] = Cursor(modified=rows[0][0], key=str(rows[0][1]))
        return marks

    def _changed_page(self, stream: str, cursor: Cursor | None) -> list[Any]:
        """(modified, key, customer key) of the next page of rows changed after ``cursor``."""
        spec = self._spec(stream)
        table = self._table(stream)
        assert spec.modified is not None
        modified, key = table.c[spec.modified], table.c[spec.key]
        owner = table.c[getattr(spec, "customer", spec.key)]
        query = (
            select(modified, key, owner)
            .where(modified.is_not(None))
            .order_by(modified, key)
            .limit(self.batch_size)
        )
        if cursor is not None:
            bound = (_typed(modified, cursor.modified), _typed(key, cursor.key))
            query = query.where(tuple_(modified, key) > tuple_(*bound))
        return self._fetch(f"reading changes of {table.name}", query)

    def _summaries(
        self, customer_keys: Sequence[Any], key_range: tuple[Any, Any] | None = None
    ) -> tuple[SourceRecord, ...]:
        """One record per existing customer in ``customer_keys``: its columns and figures.

        ``key_range`` (first, last key of a page in key order) lets the full refresh select
        orders and invoices by a range scan instead of a long ``IN`` list.
        """
        if not customer_keys:
            return ()
        spec = self.options.customers
        customers = self._table("customers")
        key = customers.c[spec.key]
        others = (customers.c[name] for name in self._customer_columns() if name != spec.key)
        wanted = [key, *others]
        query = select(*wanted).where(_among(key, customer_keys, key_range))
        rows = self._fetch(f"reading {customers.name}", query)
        orders = self._order_figures(customer_keys, key_range)
        invoices = self._invoice_figures(customer_keys, key_range)
        records = []
        for row in rows:
            data = dict(row._mapping)
            ident = data[spec.key]
            # Standard names for the mapping, whatever the ERP calls these columns.
            data["credit_status"] = data.get(spec.credit_status) if spec.credit_status else None
            data["currency"] = data.get(spec.currency) if spec.currency else None
            data.update(orders.get(ident, {"order_count": 0, "lifetime_value": Decimal(0),
                                           "last_order_date": None}))
            if self.options.invoices is not None:
                data.update(invoices.get(ident, {"open_invoices": 0, "balance": Decimal(0)}))
            records.append(SourceRecord(key=str(ident), data=data))
        return tuple(records)

    def _order_figures(
        self, keys: Sequence[Any], key_range: tuple[Any, Any] | None
    ) -> dict[Any, dict[str, Any]]:
        spec = self.options.orders
        if spec is None:
            return {}
        table = self._table("orders")
        owner = table.c[spec.customer]
        query = (
            select(
                owner,
                func.count().label("order_count"),
                func.coalesce(func.sum(table.c[spec.amount]), 0).label("lifetime_value"),
                func.max(table.c[spec.date]).label("last_order_date"),
            )
            .where(_among(owner, keys, key_range))
            .group_by(owner)
        )
        return {
            row[0]: {
                "order_count": int(row[1]),
                "lifetime_value": _decimal(row[2]),
                "last_order_date": _as_date(row[3]),
            }
            for row in self._fetch(f"summing {table.name}", query)
        }

    def _invoice_figures(
        self, keys: Sequence[Any], key_range: tuple[Any, Any] | None
    ) -> dict[Any, dict[str, Any]]:
        spec = self.options.invoices
        if spec is None:
            return {}
        table = self._table("invoices")
        owner, open_amount = table.c[spec.customer], table.c[spec.open_amount]
        query = (
            select(
                owner,
                func.sum(case((open_amount > 0, 1), else_=0)).label("open_invoices"),
                func.coalesce(func.sum(open_amount), 0).label("balance"),
            )
            .where(_among(owner, keys, key_range))
            .group_by(owner)
        )
        return {
            row[0]: {"open_invoices": int(row[1] or 0), "balance": _decimal(row[2])}
            for row in self._fetch(f"summing {table.name}", query)
        }

    # --- plumbing ------------------------------------------------------------------------------

    def _streams(self) -> list[str]:
        return [s for s in STREAMS if getattr(self.options, s) is not None]

    def _spec(self, stream: str) -> Any:
        return getattr(self.options, stream)

    def _customer_columns(self) -> list[str]:
        spec = self.options.customers
        named = [spec.key, spec.modified, spec.credit_status, spec.currency, *spec.columns]
        return list(dict.fromkeys(n for n in named if n))

    def _columns_of(self, stream: str) -> list[str]:
        if stream == "customers":
            return self._customer_columns()
        spec = self._spec(stream)
        fields = ("key", "modified", "customer", "amount", "date", "open_amount")
        return list(dict.fromkeys(v for f in fields if (v := getattr(spec, f, None))))

    def _table(self, stream: str) -> Table:
        """The ERP table of ``stream``, reflected with only the configured columns."""
        if stream in self._tables:
            return self._tables[stream]
        spec = self._spec(stream)
        wanted = self._columns_of(stream)
        try:
            table = Table(spec.table, MetaData(), autoload_with=self.engine,
                          include_columns=wanted)
        except NoSuchTableError:
            raise ConnectorError(self.name, f"table '{spec.table}' not found in the ERP "
                                 f"({stream})") from None
        except SQLAlchemyError as exc:
            raise self._error(f"reading the definition of table '{spec.table}'", exc) from exc
        missing = [c for c in wanted if c not in table.c]
        if missing:
            raise ConnectorError(
                self.name, f"table '{spec.table}' has no column {', '.join(map(repr, missing))} "
                f"(named in the config's erp.{stream} section)"
            )
        self._tables[stream] = table
        return table

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self._url, pool_pre_ping=True)
        return self._engine

    def _fetch(self, action: str, query: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query).all())
        except SQLAlchemyError as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: SQLAlchemyError) -> ConnectorError:
        cause = getattr(exc, "orig", None) or exc
        first_line = str(cause).strip().partition("\n")[0]
        where = self._url.render_as_string(hide_password=True)
        return ConnectorError(self.name, f"{action} in {where}: {type(cause).__name__}: "
                              f"{first_line}")


def _among(column: Column[Any], keys: Sequence[Any], key_range: tuple[Any, Any] | None) -> Any:
    if key_range is not None:
        return and_(column >= key_range[0], column <= key_range[1])
    return column.in_(list(keys))


def _typed(column: Column[Any], value: Any) -> Any:
    """A cursor value (kept as text or a datetime) as the column's Python type, for binding."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if isinstance(value, str) and kind is int:
        return int(value)
    if isinstance(value, str) and kind is datetime:
        return datetime.fromisoformat(value)
    return value


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _read_only_url(raw: str, base_dir: Path) -> URL:
    """``raw`` made read-only: SQLite ``mode=ro`` (file must exist), PostgreSQL read-only sessions.

    :raises ConfigError: not a URL, or a database other than SQLite and PostgreSQL.
    """
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {exc}", key="erp.url") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise ConfigError("the ERP SQLite URL must name a file", key="erp.url")
        path = Path(database).expanduser()
        path = path if path.is_absolute() else base_dir / path
        return url.set(database=f"file:{path}").update_query_dict({"mode": "ro", "uri": "true"})
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        existing = url.query.get("options", "")
        if not isinstance(existing, str):
            existing = " ".join(existing)
        options = f"{existing} -cdefault_transaction_read_only=on".strip()
        return url.update_query_dict({"options": options})
    raise ConfigError(f"unsupported ERP database '{backend}': use sqlite or postgresql",
                      key="erp.url")
