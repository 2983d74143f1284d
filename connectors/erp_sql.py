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
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Select,
    Table,
    any_,
    bindparam,
    case,
    create_engine,
    func,
    literal_column,
    null,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from connectors.base import ConnectorError, Cursor, RecordBatch
from gateway.errors import ConfigError

log = logging.getLogger(__name__)

# Names of the aggregated figures added to every customer record.
FIGURES = ("order_count", "lifetime_value", "last_order_date", "open_invoices", "balance")
STREAMS = ("customers", "orders", "invoices")
_IN_CHUNK = 5000  # keys per IN list outside PostgreSQL (SQLite allows 32,766 parameters)


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
    batch_size: int = Field(5000, ge=1, le=100_000)  # changed rows per page (incremental)
    full_batch_size: int = Field(50_000, ge=1, le=1_000_000)  # customers per full-refresh page
    # PostgreSQL ERPs: memory for the full refresh's one-pass sums (SET LOCAL in its read-only
    # transaction; about 500 bytes per customer keeps them in memory). None: the server's own.
    work_mem: str | None = Field("256MB", pattern=r"^[0-9]+ ?(kB|MB|GB)?$")
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
        self._columns: tuple[str, ...] | None = None

    # --- the RecordSource protocol -----------------------------------------------------------

    def changes(self, cursors: Mapping[str, Cursor]) -> Iterator[RecordBatch]:
        """Rounds of customers touched after ``cursors``, each with the cursors it covers.

        A round reads keyset pages of changed rows stream by stream (customers, then orders,
        then invoices) until about ``batch_size`` distinct customers are touched, then sums
        those customers once: a customer whose row, orders and invoices all changed is read
        once, not three times. The round's batch carries the cursor of every stream it moved.

        :raises ConnectorError: no table names a ``modified`` column (nothing to follow).
        """
        followed = [s for s in self._streams() if self._spec(s).modified]
        if not followed:
            raise ConnectorError(self.name, "no table names a 'modified' column in the config: "
                                 "incremental refresh impossible, use a full refresh")
        position: dict[str, Cursor | None] = {s: cursors.get(s) for s in followed}
        unread = list(followed)
        while unread:
            touched: dict[Any, None] = {}  # customer keys, in the order first seen
            moved: dict[str, Cursor] = {}
            read = 0
            for stream in list(unread):
                while len(touched) < self.batch_size:
                    page = self._changed_page(stream, position[stream])
                    if page:
                        modified, key, _customer = page[-1]
                        position[stream] = moved[stream] = Cursor(modified=modified, key=str(key))
                        read += len(page)
                        touched.update(dict.fromkeys(row[2] for row in page))
                    if len(page) < self.batch_size:
                        unread.remove(stream)
                        break
                if len(touched) >= self.batch_size:
                    break
            if not moved:
                return
            rows = self._summaries(list(touched))
            yield RecordBatch("+".join(moved), columns=self._record_columns(), rows=rows,
                              cursors=moved, rows_read=read)

    def everything(self) -> Iterator[RecordBatch]:
        """Every customer with its figures, in pages of ``full_batch_size``; the last page
        carries the high-water cursors.

        One query reads every customer and sums every order and invoice in one pass each (on
        PostgreSQL: hash aggregates joined to the customers), streamed through a server-side
        cursor. Summing per page of customers would instead scatter reads over the whole orders
        table once per page.

        The high-water marks are taken *before* reading, so a row changed while the refresh runs
        is after them and the next incremental run reads it again (idempotently).
        """
        high = self.high_water()
        columns = self._record_columns()
        pending: list[Any] | None = None
        pages = self._stream("reading every customer", self._summary_query(None),
                             self.options.full_batch_size)
        if self.engine.dialect.name == "postgresql":
            pages = _read_ahead(pages)  # the ERP streams the next page while the CRM writes
        for page in pages:
            if pending is not None:
                yield RecordBatch("customers", columns=columns, rows=pending,
                                  rows_read=len(pending))
            pending = page
        if pending:
            yield RecordBatch("customers", columns=columns, rows=pending, cursors=high,
                              rows_read=len(pending))
        else:
            yield RecordBatch("customers", cursors=high)

    def keys(self) -> Iterator[list[str]]:
        """Every customer key in the ERP now, a page at a time (one streamed query)."""
        customers = self._table("customers")
        key = customers.c[self.options.customers.key]
        for page in self._stream(f"reading keys of {customers.name}", select(key),
                                 self.options.full_batch_size):
            yield [str(row[0]) for row in page]

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

    def _record_columns(self) -> tuple[str, ...]:
        """The names of a record's values, in the order of :meth:`_summary_query`'s columns."""
        if self._columns is None:
            self._columns = tuple(c.name for c in self._summary_query(None).selected_columns)
        return self._columns

    def _summaries(self, customer_keys: Sequence[Any]) -> list[Any]:
        """The record rows (:meth:`_record_columns`) of the existing customers among
        ``customer_keys``. PostgreSQL takes every key as one array; other databases get ``IN``
        lists of at most ``_IN_CHUNK`` keys."""
        if not customer_keys:
            return []
        if self.engine.dialect.name == "postgresql":
            return self._fetch("summing customers", self._summary_query(customer_keys))
        rows: list[Any] = []
        for start in range(0, len(customer_keys), _IN_CHUNK):
            chunk = customer_keys[start:start + _IN_CHUNK]
            rows += self._fetch("summing customers", self._summary_query(chunk))
        return rows

    def _summary_query(self, keys: Sequence[Any] | None) -> Select[Any]:
        """One row per customer (``keys``, or all of them): the key, the configured columns,
        the standard ``credit_status`` and ``currency``, and the figures (:data:`FIGURES`).

        Orders and invoices are each summed by one grouped subquery, outer-joined to the
        customers: one pass over each table, whatever the number of customers.
        """
        spec = self.options.customers
        customers = self._table("customers")
        key = customers.c[spec.key]
        standard = ("credit_status", "currency")
        wanted: list[Any] = [key]
        wanted += [customers.c[name] for name in self._customer_columns()
                   if name != spec.key and name not in standard]
        # Standard names for the mapping, whatever the ERP calls these columns.
        for name in standard:
            erp_name = getattr(spec, name)
            wanted.append((customers.c[erp_name] if erp_name else null()).label(name))
        joined: Any = customers
        if self.options.orders is not None:
            o_spec = self.options.orders
            orders = self._table("orders")
            owner = orders.c[o_spec.customer]
            summed = select(
                owner.label("owner"),
                func.count().label("n"),
                func.sum(orders.c[o_spec.amount]).label("amount"),
                func.max(orders.c[o_spec.date]).label("last"),
            ).group_by(owner)
            if keys is not None:
                summed = summed.where(self._among(owner, keys))
            o = summed.subquery("order_figures")
            joined = joined.outerjoin(o, o.c.owner == key)
            wanted += [
                func.coalesce(o.c.n, 0).label("order_count"),
                func.coalesce(o.c.amount, 0).label("lifetime_value"),
                o.c["last"].label("last_order_date"),
            ]
        else:
            wanted += [literal_column("0").label("order_count"),
                       literal_column("0").label("lifetime_value"),
                       null().label("last_order_date")]
        if self.options.invoices is not None:
            i_spec = self.options.invoices
            invoices = self._table("invoices")
            owner = invoices.c[i_spec.customer]
            open_amount = invoices.c[i_spec.open_amount]
            summed = select(
                owner.label("owner"),
                func.sum(case((open_amount > 0, 1), else_=0)).label("n"),
                func.sum(open_amount).label("amount"),
            ).group_by(owner)
            if keys is not None:
                summed = summed.where(self._among(owner, keys))
            i = summed.subquery("invoice_figures")
            joined = joined.outerjoin(i, i.c.owner == key)
            wanted += [func.coalesce(i.c.n, 0).label("open_invoices"),
                       func.coalesce(i.c.amount, 0).label("balance")]
        query = select(*wanted).select_from(joined)
        if keys is not None:
            query = query.where(self._among(key, keys))
        return query

    def _among(self, column: Column[Any], keys: Sequence[Any]) -> Any:
        """``column`` is one of ``keys``: ``= ANY(:array)`` on PostgreSQL (one parameter, one
        plan, whatever the count), an ``IN`` list elsewhere."""
        if self.engine.dialect.name == "postgresql":
            return column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))
        return column.in_(list(keys))

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

    def _stream(self, action: str, query: Any, page_size: int) -> Iterator[list[Any]]:
        """The rows of ``query`` in pages, through a server-side cursor (never all in memory).

        On PostgreSQL the read-only transaction plans for the whole result
        (``cursor_tuple_fraction = 1``: a cursor is otherwise planned for its first rows, with
        nested loops that are many times slower over a million customers) and may use
        ``work_mem`` for its aggregates.
        """
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(select(func.set_config("cursor_tuple_fraction", "1", True)))
                    if self.options.work_mem:
                        conn.execute(select(func.set_config("work_mem", self.options.work_mem,
                                                            True)))
                result = conn.execution_options(stream_results=True,
                                                yield_per=page_size).execute(query)
                for page in result.partitions(page_size):
                    yield list(page)
        except SQLAlchemyError as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: SQLAlchemyError) -> ConnectorError:
        cause = getattr(exc, "orig", None) or exc
        first_line = str(cause).strip().partition("\n")[0]
        where = self._url.render_as_string(hide_password=True)
        return ConnectorError(self.name, f"{action} in {where}: {type(cause).__name__}: "
                              f"{first_line}")


_DONE = object()


def _read_ahead(pages: Iterator[list[Any]], depth: int = 2) -> Iterator[list[Any]]:
    """``pages``, read by a thread up to ``depth`` pages ahead of the consumer.

    The thread alone runs (and closes) the page generator, so its connection never changes
    thread; an error is raised in the consumer. If the consumer stops early, the thread stops
    at its next page and closes the generator (which returns the connection).
    """
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for page in pages:
                if not put(page):
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            pages.close()  # type: ignore[attr-defined]
        put(_DONE)

    reader = threading.Thread(target=run, name="erp-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


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
