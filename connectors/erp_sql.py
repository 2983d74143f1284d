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
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Engine,
    Float,
    MetaData,
    Numeric,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    cast,
    create_engine,
    func,
    literal_column,
    null,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchTableError, SQLAlchemyError

from connectors.base import ConnectorError, Cursor, RecordBatch
from gateway.errors import ConfigError

log = logging.getLogger(__name__)

# Names of the aggregated figures added to every customer record.
FIGURES = ("order_count", "lifetime_value", "last_order_date", "open_invoices", "balance")
STREAMS = ("customers", "orders", "invoices")
# Keeps the figures it has of customers (record columns, rows without figures); returns the
# keys, as text, of those it has none for.
KeepFigures = Callable[[Sequence[str], Sequence[Sequence[Any]]], Set[str]]
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
    # customers summed (one query) and written with their cursors (one transaction) per round
    round_size: int = Field(50_000, ge=1, le=1_000_000)
    full_batch_size: int = Field(50_000, ge=1, le=1_000_000)  # customers per full-refresh page
    # customers per aggregate query of a full refresh: the CRM writes one key range while the
    # ERP sums the next (each range reads orders and invoices once more)
    full_chunk_size: int = Field(250_000, ge=1, le=100_000_000)
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
        """Rounds of customers touched after ``cursors``, each with the cursors it covers
        (:meth:`changes_keeping_figures` without figures to keep: every customer summed)."""
        return self.changes_keeping_figures(cursors, None)

    def changes_keeping_figures(self, cursors: Mapping[str, Cursor],
                                keep: KeepFigures | None) -> Iterator[RecordBatch]:
        """Rounds of customers touched after ``cursors``, each with the cursors it covers.

        A round reads keyset pages of ``batch_size`` changed rows stream by stream (customers,
        then orders, then invoices) until about ``round_size`` distinct customers are touched,
        then sums those customers with one query: a customer whose row, orders and invoices
        all changed, or with many changed orders, is summed once per round, not once per page
        or per stream. The round's batch carries the cursor of every stream it moved, so a
        crash loses at most the round being written (read again, idempotently, next time).

        ``keep``: the customers a round touched only through their own row are handed to it
        first (record rows whose figures are ``None``, their own columns as the changed page
        read them); it keeps the figures it has for them and returns the keys, as text, it has
        none for, which are summed with the others. Only when every figure table is followed
        (has a ``modified`` column): any change to a customer's orders or invoices is then read
        in this round or a later one, which sums the customer.

        :raises ConnectorError: no table names a ``modified`` column (nothing to follow).
        """
        followed = [s for s in self._streams() if self._spec(s).modified]
        if not followed:
            raise ConnectorError(self.name, "no table names a 'modified' column in the config: "
                                 "incremental refresh impossible, use a full refresh")
        if any(self._spec(s).modified is None for s in self._streams() if s != "customers"):
            keep = None  # an unfollowed figure table changes only what a sum sees
        position: dict[str, Cursor | None] = {s: cursors.get(s) for s in followed}
        unread = list(followed)
        round_size = self.options.round_size
        no_figures = (None,) * len(FIGURES)
        while unread:
            touched: dict[Any, None] = {}  # customer keys, in the order first seen
            summing: set[Any] = set()  # ... of those, touched through orders or invoices
            own: dict[Any, Any] = {}  # ... through their own row: its columns, as read
            moved: dict[str, Cursor] = {}
            read = 0
            for stream in list(unread):
                while len(touched) < round_size:
                    page = self._changed_page(stream, position[stream],
                                              own=keep is not None)
                    if page:
                        modified, key = page[-1][0], page[-1][1]
                        position[stream] = moved[stream] = Cursor(modified=modified, key=str(key))
                        read += len(page)
                        touched.update(dict.fromkeys(row[2] for row in page))
                        if stream != "customers":
                            summing.update(row[2] for row in page)
                        elif keep is not None:
                            own.update((row[2], row[2:]) for row in page)
                    if len(page) < self.batch_size:
                        unread.remove(stream)
                        break
                if len(touched) >= round_size:
                    break
            if not moved:
                return
            to_sum = list(touched)
            if keep is not None:
                kept = [(*row, *no_figures) for k, row in own.items() if k not in summing]
                if kept:
                    unknown = keep(self._record_columns(), kept)
                    to_sum = [k for k in touched if k in summing or str(k) in unknown]
            yield RecordBatch("+".join(moved), columns=self._record_columns(),
                              rows=self._summaries(to_sum), cursors=moved, rows_read=read)

    def everything(self) -> Iterator[RecordBatch]:
        """Every customer with its figures, in pages of ``full_batch_size``; the last page
        carries the high-water cursors.

        Customers are read in key ranges of ``full_chunk_size``: one query per range reads its
        customers and sums their orders and invoices in one pass over each table (on
        PostgreSQL: one hash aggregate joined to the customers), streamed through a server-side
        cursor. Summing per page of customers would instead scatter reads over the whole orders
        table once per page; one query for everything gives no row until every order is summed.
        On PostgreSQL a thread reads ahead, so the ERP sums the next range while the CRM
        writes this one.

        The high-water marks are taken *before* reading, so a row changed while the refresh runs
        is after them and the next incremental run reads it again (idempotently).
        """
        high = self.high_water()
        columns = self._record_columns()
        pending: list[Any] | None = None
        page_size = self.options.full_batch_size
        pages = self._ranges(page_size)
        if self.engine.dialect.name == "postgresql":
            # up to a whole range ahead: the ERP's next aggregate runs while the CRM writes
            pages = _read_ahead(pages, depth=1 + -(-self.options.full_chunk_size // page_size))
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

    def _ranges(self, page_size: int) -> Iterator[list[Any]]:
        """Pages of every customer's record row, one summary query per key range."""
        customers = self._table("customers")
        key = customers.c[self.options.customers.key]
        chunk = self.options.full_chunk_size
        low: Any = None
        while True:
            upper = select(key).order_by(key).offset(chunk - 1).limit(1)
            if low is not None:
                upper = upper.where(key > low)
            found = self._fetch(f"reading the key ranges of {customers.name}", upper)
            high = found[0][0] if found else None
            yield from self._stream("reading every customer",
                                    self._summary_query(None, (low, high)), page_size)
            if high is None:
                return
            low = high

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
            modified, key = self._position_column(table.c[spec.modified]), table.c[spec.key]
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

    def _changed_page(self, stream: str, cursor: Cursor | None, own: bool = False
                      ) -> list[Any]:
        """(modified, key, customer key) of the next page of rows changed after ``cursor``;
        ``own``: customers' rows go on with the rest of :meth:`_own_columns`."""
        spec = self._spec(stream)
        table = self._table(stream)
        assert spec.modified is not None
        column = table.c[spec.modified]
        modified, key = self._position_column(column), table.c[spec.key]
        owner = table.c[getattr(spec, "customer", spec.key)]
        extra = self._own_columns()[1:] if own and stream == "customers" else []
        query = (
            select(modified, key, owner, *extra)
            .where(modified.is_not(None))
            .order_by(modified, key)
            .limit(self.batch_size)
        )
        if cursor is not None:
            position = (_as_stored_text(cursor.modified) if modified is not column
                        else _typed(column, cursor.modified))
            query = query.where(tuple_(modified, key) > tuple_(position, _typed(key, cursor.key)))
        return self._fetch(f"reading changes of {table.name}", query)

    def _position_column(self, modified: Column[Any]) -> Any:
        """``modified`` as cursors read, order and compare it.

        SQLite has no date or time type: a ``DATETIME`` column holds text, compared as text,
        and it holds whatever text the ERP wrote (``2030-01-01 00:00:00`` from most writers,
        with ``.000000`` from SQLAlchemy). Bound as a datetime, a cursor would be written back
        in SQLAlchemy's form and compared with the ERP's as text: ``…00:00:00`` sorts before
        ``…00:00:00.000000``, so rows at the cursor's own time were skipped. There the column
        is therefore read as the text it holds, and the cursor keeps and binds that very text
        (never re-formatted): the order the ERP sorts by is the order the cursor follows.
        """
        if self.engine.dialect.name != "sqlite":
            return modified
        try:
            kind = modified.type.python_type
        except NotImplementedError:
            return modified
        if not issubclass(kind, date):  # datetime is a date
            return modified
        return type_coerce(modified, String)

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

    def _summary_query(self, keys: Sequence[Any] | None,
                       key_range: tuple[Any, Any] = (None, None)) -> Select[Any]:
        """One row per customer (``keys``, or all of them; within ``key_range`` = (above,
        up to and including), either end ``None`` for open): the key, the configured columns,
        the standard ``credit_status`` and ``currency``, and the figures (:data:`FIGURES`).

        Orders and invoices are summed together by *one* grouped ``UNION ALL`` of both tables,
        outer-joined to the customers: one pass over each table and one hash table of customers
        (two grouped subqueries built two and joined twice). On PostgreSQL an amount column of
        type ``NUMERIC(p, s)`` with ``p <= 18`` is summed as whole cents (``bigint``, exact: the
        scaled value is an integer below 10^18) and scaled back once per customer: ``numeric``
        sums keep a heap-allocated state per customer and were a third of the query's time.
        """
        customers = self._table("customers")
        key = customers.c[self.options.customers.key]
        wanted = self._own_columns()
        parts: list[Select[Any]] = []
        o_spec, i_spec = self.options.orders, self.options.invoices
        zero: Any = literal_column("0")
        o_scale = i_scale = None
        if o_spec is not None:
            orders = self._table("orders")
            owner = orders.c[o_spec.customer]
            o_amount, o_scale = self._summable(orders.c[o_spec.amount])
            part = select(owner.label("owner"), literal_column("1").label("n_orders"),
                          o_amount.label("amount"), orders.c[o_spec.date].label("last"),
                          zero.label("n_open"), zero.label("open"))
            parts.append(self._restricted(part, owner, keys, key_range))
        if i_spec is not None:
            invoices = self._table("invoices")
            owner = invoices.c[i_spec.customer]
            open_amount = invoices.c[i_spec.open_amount]
            i_amount, i_scale = self._summable(open_amount)
            last_type = (self._table("orders").c[o_spec.date].type if o_spec is not None
                         else Date())
            part = select(owner.label("owner"), zero.label("n_orders"), zero.label("amount"),
                          cast(null(), last_type).label("last"),
                          case((open_amount > 0, 1), else_=0).label("n_open"),
                          i_amount.label("open"))
            parts.append(self._restricted(part, owner, keys, key_range))
        if not parts:
            wanted += [zero.label("order_count"), zero.label("lifetime_value"),
                       null().label("last_order_date"), zero.label("open_invoices"),
                       zero.label("balance")]
            query = select(*wanted).select_from(customers)
        else:
            u = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("erp_rows")
            f = select(
                u.c.owner, func.sum(u.c.n_orders).label("n_orders"),
                func.sum(u.c.amount).label("amount"), func.max(u.c["last"]).label("last"),
                func.sum(u.c.n_open).label("n_open"), func.sum(u.c.open).label("open"),
            ).group_by(u.c.owner).subquery("figures")
            wanted += [
                func.coalesce(f.c.n_orders, 0).label("order_count"),
                _unscaled(func.coalesce(f.c.amount, 0), o_scale).label("lifetime_value"),
                f.c["last"].label("last_order_date"),
                func.coalesce(f.c.n_open, 0).label("open_invoices"),
                _unscaled(func.coalesce(f.c.open, 0), i_scale).label("balance"),
            ]
            query = select(*wanted).select_from(customers.outerjoin(f, f.c.owner == key))
        return self._restricted(query, key, keys, key_range)

    def _own_columns(self) -> list[Any]:
        """A record's columns read from the customer's own row: the key, the configured
        columns, and the standard ``credit_status`` and ``currency`` (:meth:`_summary_query`
        adds the figures after them)."""
        spec = self.options.customers
        customers = self._table("customers")
        standard = ("credit_status", "currency")
        wanted: list[Any] = [customers.c[spec.key]]
        wanted += [customers.c[name] for name in spec.columns
                   if name != spec.key and name not in standard]
        # Standard names for the mapping, whatever the ERP calls these columns.
        for name in standard:
            erp_name = getattr(spec, name)
            wanted.append((customers.c[erp_name] if erp_name else null()).label(name))
        return wanted

    def _restricted(self, query: Select[Any], column: Column[Any], keys: Sequence[Any] | None,
                    key_range: tuple[Any, Any]) -> Select[Any]:
        """``query`` limited to rows whose ``column`` is among ``keys`` and in ``key_range``."""
        if keys is not None:
            query = query.where(self._among(column, keys))
        low, high = key_range
        if low is not None:
            query = query.where(column > low)
        if high is not None:
            query = query.where(column <= high)
        return query

    def _summable(self, amount: Column[Any]) -> tuple[Any, int | None]:
        """``amount`` as summed: whole units of its scale as ``bigint`` on PostgreSQL when the
        column is ``NUMERIC(p <= 18, s)`` (with the scale), else the column itself (``None``)."""
        kind = amount.type
        if (self.engine.dialect.name == "postgresql" and isinstance(kind, Numeric)
                and not isinstance(kind, Float) and kind.scale is not None
                and kind.precision is not None and kind.precision <= 18):
            return cast(amount * (10 ** kind.scale), BigInteger), kind.scale
        return amount, None

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
        ``work_mem`` for its aggregates; the rows are fetched by the driver's own named cursor
        as plain tuples (SQLAlchemy's result rows cost twice the time of the fetch itself).
        """
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name != "postgresql":
                    result = conn.execution_options(stream_results=True,
                                                    yield_per=page_size).execute(query)
                    for page in result.partitions(page_size):
                        yield list(page)
                    return
                conn.execute(select(func.set_config("cursor_tuple_fraction", "1", True)))
                if self.options.work_mem:
                    conn.execute(select(func.set_config("work_mem", self.options.work_mem,
                                                        True)))
                from psycopg import Error as DriverError

                compiled = query.compile(dialect=conn.dialect)
                raw = conn.connection.driver_connection
                assert raw is not None
                try:
                    with raw.cursor(name="cpex_erp_read") as cursor:
                        cursor.itersize = page_size
                        cursor.execute(str(compiled), compiled.params)
                        while page := cursor.fetchmany(page_size):
                            yield page
                except DriverError as exc:  # wrapped as SQLAlchemy wraps driver errors
                    raise DBAPIError.instance(str(compiled), None, exc, DriverError) from exc
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


def _unscaled(summed: Any, scale: int | None) -> Any:
    """A sum of whole units (:meth:`SqlErpConnector._summable`) back in the column's scale:
    times the literal ``0.01`` (for scale 2), exact and with exactly that scale."""
    if not scale:
        return summed
    return summed * literal_column("0." + "0" * (scale - 1) + "1")


def _as_stored_text(value: Any) -> Any:
    """A cursor position compared with SQLite's date and time text (:meth:`SqlErpConnector.
    _position_column`). Text is the column's own and bound as it is. A date or datetime (a
    cursor saved before positions were kept as text) becomes the shortest text of that instant,
    ``2030-01-01 00:00:00`` without a fraction of zero: it sorts at or before every way of
    writing the instant, so rows at it may be read once more (idempotent), never skipped."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")  # a fraction only when there is one
    if isinstance(value, date):
        return value.isoformat()
    return value


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
