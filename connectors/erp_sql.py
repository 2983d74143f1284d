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

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
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
    event,
    func,
    literal,
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
from connectors.sql_expressions import ExpressionError, parse_figure, tables_of
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


ChangeDetection = Literal["modified", "checksum", "reconcile"]
FigureName = Literal["order_count", "lifetime_value", "last_order_date", "open_invoices",
                     "balance"]


class TableOptions(_Options):
    table: str = Field(min_length=1)
    key: str = Field(min_length=1)
    modified: str | None = None  # last-modified column; without it only full refreshes see changes
    # How an incremental refresh sees changes of this table's rows: ``modified`` (a cursor on
    # the column above), ``checksum`` (per-customer checksums of its rows compared on every
    # incremental refresh) or ``reconcile`` (compared by ``erp refresh --reconcile`` and full
    # refreshes only). Default: ``modified`` with a modified column, else ``reconcile``.
    changes: ChangeDetection | None = None

    @model_validator(mode="after")
    def _changes_fit(self) -> TableOptions:
        if self.changes == "modified" and self.modified is None:
            raise ValueError("changes = 'modified' needs the table's 'modified' column")
        if self.changes in ("checksum", "reconcile") and self.modified is not None:
            raise ValueError(f"changes = '{self.changes}' is for a table without a "
                             "'modified' column: leave 'modified' out")
        return self

    @property
    def detection(self) -> ChangeDetection:
        if self.changes is not None:
            return self.changes
        return "modified" if self.modified else "reconcile"


class CustomerTable(TableOptions):
    columns: tuple[str, ...] = ()  # further columns handed to the mapping (names, addresses)
    credit_status: str | None = None
    currency: str | None = None


class OrderTable(TableOptions):
    customer: str = Field(min_length=1)
    amount: str | None = None  # or a declared figure lifetime_value
    date: str = Field(min_length=1)


class InvoiceTable(TableOptions):
    customer: str = Field(min_length=1)
    open_amount: str | None = None  # or declared figures open_invoices and balance


class JoinedTable(TableOptions):
    """A further table figures are summed over, joined to its parent (``orders``, ``invoices``,
    ``customers`` or another joined table) by ``parent_key`` = the parent's key."""

    parent: str = Field(min_length=1)
    parent_key: str = Field(min_length=1)


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
    tables: dict[str, JoinedTable] = Field(default_factory=dict)
    # figure name -> expression (connectors.sql_expressions) over orders, invoices and tables
    figures: dict[FigureName, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _declared(self) -> SqlErpOptions:
        """Declared tables join up to the customers and figures parse over declared tables.
        Raises :class:`ConfigError` with the dotted key (pydantic would lose the key)."""
        for name, joined in self.tables.items():
            if name in STREAMS:
                raise _bad(f"tables.{name}", f"'{name}' is a section of its own")
            seen = {name}
            parent = joined.parent
            while parent in self.tables:
                if parent in seen:
                    raise _bad(f"tables.{name}.parent", "the parents form a cycle")
                seen.add(parent)
                parent = self.tables[parent].parent
            if parent not in STREAMS or getattr(self, parent) is None:
                raise _bad(f"tables.{name}.parent", f"'{parent}' is neither a declared table "
                           "nor a configured customers, orders or invoices section")
        for figure, text in self.figures.items():
            try:
                named = tables_of(text)
            except ExpressionError as exc:
                raise _bad(f"figures.{figure}", str(exc)) from None
            unknown = sorted(named - set(self.tables) - {"orders", "invoices"})
            if unknown:
                raise _bad(f"figures.{figure}", f"table '{unknown[0]}' is not declared (orders, "
                           "invoices or a [erp.tables.NAME] section)")
            try:
                deepest_of(named, self.parent_of)
            except ValueError as exc:
                raise _bad(f"figures.{figure}", str(exc)) from None
        if self.orders is not None and self.orders.amount is None and (
                "lifetime_value" not in self.figures):
            raise _bad("orders.amount", "required unless figures.lifetime_value is declared")
        if self.invoices is not None and self.invoices.open_amount is None and not (
                {"open_invoices", "balance"} <= set(self.figures)):
            raise _bad("invoices.open_amount", "required unless figures.open_invoices and "
                       "figures.balance are declared")
        return self

    def parent_of(self, name: str) -> str | None:
        """The table ``name`` is joined to on its way to the customers (None for customers)."""
        if name in self.tables:
            return self.tables[name].parent
        return None if name == "customers" else "customers"


def _bad(key: str, reason: str) -> ConfigError:
    return ConfigError(reason, key=f"erp.{key}")


def deepest_of(names: Set[str], parent_of: Callable[[str], str | None]) -> str:
    """The one table of ``names`` whose chain of parents holds all the others.

    :raises ValueError: the tables are not on one chain (a figure cannot join them).
    """
    for name in names:
        chain = {name}
        parent = parent_of(name)
        while parent is not None:
            chain.add(parent)
            parent = parent_of(parent)
        if names <= chain:
            return name
    raise ValueError(f"tables {', '.join(sorted(names))} are not on one chain of parents "
                     "(each figure sums over one table and the tables it is joined to)")


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
        self._named: dict[str, list[str]] | None = None

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
        if any(self._spec(s).detection == "reconcile" for s in self._figure_tables()):
            keep = None  # an unfollowed figure table changes only what a sum sees
        position: dict[str, Cursor | None] = {s: cursors.get(s) for s in followed}
        unread = list(followed)
        round_size = self.options.round_size
        no_figures = (None,) * (len(self._record_columns()) - len(self._own_columns()))
        while unread:
            touched: dict[Any, None] = {}  # customer keys, in the order first seen
            summing: set[Any] = set()  # ... of those, touched through orders or invoices
            own: dict[Any, Any] = {}  # ... through their own row: its columns, as read
            moved: dict[str, Cursor] = {}
            read = 0
            by_table: dict[str, int] = {}
            for stream in list(unread):
                while len(touched) < round_size:
                    page = self._changed_page(stream, position[stream],
                                              own=keep is not None)
                    if page:
                        modified, key = page[-1][0], page[-1][1]
                        position[stream] = moved[stream] = Cursor(modified=modified, key=str(key))
                        read += len(page)
                        by_table[stream] = by_table.get(stream, 0) + len(page)
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
                              rows=self._summaries(to_sum), cursors=moved, rows_read=read,
                              rows_by_table=by_table)

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

    def _ranges(self, page_size: int,
                 query: Callable[[tuple[Any, Any]], Select[Any]] | None = None
                 ) -> Iterator[list[Any]]:
        """Pages of every customer's record row (or of ``query``'s rows), one query per key
        range."""
        build = query or (lambda key_range: self._summary_query(None, key_range))
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
            yield from self._stream("reading every customer", build((low, high)), page_size)
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

    def checksums(self) -> Iterator[list[tuple[str, str]]]:
        """Every customer's key and the checksum of its child rows in the tables followed by
        checksums (:meth:`checksum_tables`), computed in the ERP a key range at a time (one
        grouped query per range over each such table), in pages."""
        customers = self._table("customers")
        key = customers.c[self.options.customers.key]

        def query(key_range: tuple[Any, Any]) -> Select[Any]:
            attach = self._checksum_of_children(None, key_range)
            assert attach is not None
            joined, text = attach(customers, key)
            return self._restricted(select(key, text).select_from(joined), key, None,
                                    key_range)

        for page in self._ranges(self.options.full_batch_size, query):
            yield [(str(row[0]), str(row[1])) for row in page]

    def records_of(self, customer_keys: Sequence[str]) -> RecordBatch:
        """The records (summed now) of the customers among ``customer_keys`` that exist."""
        keys: list[Any] = list(customer_keys)
        key_column = self._table("customers").c[self.options.customers.key]
        if _python_type(key_column) is int:
            keys = [int(k) for k in keys]
        rows = self._summaries(keys)
        return RecordBatch("customers", columns=self._record_columns(), rows=rows,
                           rows_read=len(rows))

    @property
    def incremental_covers_everything(self) -> bool:
        """Whether an incremental refresh sees every change: each table is followed by a
        cursor or by checksums on every run (none is left to reconciliation)."""
        return all(self._spec(s).detection != "reconcile" for s in self._streams())

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
        joined, owner = self._owner_path(stream)
        extra = self._own_columns()[1:] if own and stream == "customers" else []
        query = (
            select(modified, key, owner, *extra)
            .select_from(joined)
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
        declared = self.options.figures
        zero: Any = literal_column("0")
        o_scale = i_scale = None
        if o_spec is not None:
            orders = self._table("orders")
            owner = orders.c[o_spec.customer]
            if o_spec.amount is not None and "lifetime_value" not in declared:
                o_amount, o_scale = self._summable(orders.c[o_spec.amount])
            else:
                o_amount = zero
            part = select(owner.label("owner"), literal_column("1").label("n_orders"),
                          o_amount.label("amount"), orders.c[o_spec.date].label("last"),
                          zero.label("n_open"), zero.label("open"))
            parts.append(self._restricted(part, owner, keys, key_range))
        if i_spec is not None and i_spec.open_amount is not None:
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
        joined: Any = customers
        if not parts:
            figures: dict[str, Any] = {
                "order_count": zero, "lifetime_value": zero, "last_order_date": null(),
                "open_invoices": zero, "balance": zero}
        else:
            u = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("erp_rows")
            f = select(
                u.c.owner, func.sum(u.c.n_orders).label("n_orders"),
                func.sum(u.c.amount).label("amount"), func.max(u.c["last"]).label("last"),
                func.sum(u.c.n_open).label("n_open"), func.sum(u.c.open).label("open"),
            ).group_by(u.c.owner).subquery("figures")
            figures = {
                "order_count": func.coalesce(f.c.n_orders, 0),
                "lifetime_value": _unscaled(func.coalesce(f.c.amount, 0), o_scale),
                "last_order_date": f.c["last"],
                "open_invoices": func.coalesce(f.c.n_open, 0),
                "balance": _unscaled(func.coalesce(f.c.open, 0), i_scale),
            }
            joined = joined.outerjoin(f, f.c.owner == key)
        for n, (grouped, names) in enumerate(self._declared_figures(keys, key_range)):
            sub = grouped.subquery(f"declared_{n}")
            joined = joined.outerjoin(sub, sub.c.owner == key)
            for name in names:
                value = sub.c[name]
                figures[name] = value if name == "last_order_date" else func.coalesce(value, 0)
        wanted += [figures[name].label(name) for name in FIGURES]
        checksum = self._checksum_of_children(keys, key_range)
        if checksum is not None:
            joined, expression = checksum(joined, key)
            wanted.append(expression.label("checksum"))
        query = select(*wanted).select_from(joined)
        return self._restricted(query, key, keys, key_range)

    def _declared_figures(self, keys: Sequence[Any] | None, key_range: tuple[Any, Any]
                          ) -> list[tuple[Select[Any], list[str]]]:
        """One grouped query per table the declared figures sum over (``owner`` and one column
        per figure), the figures that sum over the same table together."""
        groups: dict[str, list[tuple[str, Any]]] = {}
        for name, text in self.options.figures.items():
            figure = parse_figure(text, self._resolve)
            deepest = deepest_of(figure.tables, self.options.parent_of)
            groups.setdefault(deepest, []).append((name, figure.expression))
        out = []
        for deepest, named in groups.items():
            joined, owner = self._owner_path(deepest)
            query = select(owner.label("owner"), *(e.label(n) for n, e in named)).select_from(
                joined)
            query = self._restricted(query, owner, keys, key_range).group_by(owner)
            out.append((query, [n for n, _ in named]))
        return out

    def _checksum_of_children(self, keys: Sequence[Any] | None, key_range: tuple[Any, Any]
                              ) -> Callable[[Any, Any], tuple[Any, Any]] | None:
        """For tables followed by checksums: a function that joins their per-customer
        checksums (row count and sum of row hashes, per table) to a from-clause and gives the
        customer's checksum text (``"3:1234/0:0"``); ``None`` without such tables."""
        tables = self.checksum_tables()
        if not tables:
            return None
        subs = []
        for name in tables:
            joined, owner = self._owner_path(name)
            table = self._table(name)
            hashed = self._row_hash([table.c[c] for c in self._columns_of(name)])
            query = select(owner.label("owner"), func.count().label("n"),
                           func.sum(hashed).label("s")).select_from(joined)
            subs.append(self._restricted(query, owner, keys, key_range).group_by(owner)
                        .subquery(f"checksum_{name}"))

        def attach(joined: Any, key: Any) -> tuple[Any, Any]:
            parts: list[Any] = []
            for sub in subs:
                joined = joined.outerjoin(sub, sub.c.owner == key)
                parts.append(func.coalesce(cast(sub.c.n, String) + literal(":")
                                           + cast(sub.c.s, String), literal("0:0")))
            text = parts[0]
            for part in parts[1:]:
                text = text + literal("/") + part
            return joined, text

        return attach

    def checksum_tables(self, mode: str | None = None) -> list[str]:
        """Figure tables followed by checksums (``mode``: only those of that detection)."""
        return [n for n in self._figure_tables() if self._spec(n).detection != "modified"
                and (mode is None or self._spec(n).detection == mode)]

    def _row_hash(self, columns: Sequence[Any]) -> Any:
        """A 31-bit hash of a row's values, computed in the ERP: ``hashtext`` of the values
        joined on PostgreSQL, the connector's own function on SQLite (registered on connect)."""
        if self.engine.dialect.name == "postgresql":
            return func.hashtext(func.concat_ws(literal("|"), *columns))
        return getattr(func, _SQLITE_HASH)(*columns)

    def _owner_path(self, name: str) -> tuple[Any, Any]:
        """The from-clause joining table ``name`` up to the table that names its customer, and
        the customer key column there."""
        table = self._table(name)
        if name == "customers":
            return table, table.c[self.options.customers.key]
        if name in ("orders", "invoices"):
            return table, table.c[self._spec(name).customer]
        spec: JoinedTable = self.options.tables[name]
        if spec.parent == "customers":
            return table, table.c[spec.parent_key]
        parent_from, owner = self._owner_path(spec.parent)
        parent = self._table(spec.parent)
        joined = parent_from.join(table, table.c[spec.parent_key] == parent.c[
            self._spec(spec.parent).key])
        return joined, owner

    def _resolve(self, table: str, column: str) -> Any:
        known = {"orders", "invoices", *self.options.tables}
        if table not in known or self._spec(table) is None:
            raise KeyError(f"table '{table}' is not declared")
        found = self._table(table)
        if column not in found.c:
            raise KeyError(f"table '{table}' has no column '{column}'")
        return found.c[column]

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
        """Every configured table: customers, orders, invoices, then the declared tables."""
        return [*(s for s in STREAMS if getattr(self.options, s) is not None),
                *self.options.tables]

    def _figure_tables(self) -> list[str]:
        return [s for s in self._streams() if s != "customers"]

    def _spec(self, stream: str) -> Any:
        if stream in self.options.tables:
            return self.options.tables[stream]
        return getattr(self.options, stream)

    def _figure_columns(self, stream: str) -> list[str]:
        """Columns of ``stream`` the declared figures name."""
        if self._named is None:
            named: dict[str, list[str]] = {}

            def note(table: str, column: str) -> Any:
                named.setdefault(table, []).append(column)
                return literal_column("0")

            for text in self.options.figures.values():
                parse_figure(text, note)
            self._named = named
        return self._named.get(stream, [])

    def _customer_columns(self) -> list[str]:
        spec = self.options.customers
        named = [spec.key, spec.modified, spec.credit_status, spec.currency, *spec.columns]
        return list(dict.fromkeys(n for n in named if n))

    def _columns_of(self, stream: str) -> list[str]:
        if stream == "customers":
            return self._customer_columns()
        spec = self._spec(stream)
        fields = ("key", "modified", "customer", "parent_key", "amount", "date", "open_amount")
        named = [v for f in fields if (v := getattr(spec, f, None))]
        return list(dict.fromkeys([*named, *self._figure_columns(stream)]))

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
            if self._engine.dialect.name == "sqlite":
                event.listen(self._engine, "connect", _register_row_hash)
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
_SQLITE_HASH = "cpex_row_hash"


def _register_row_hash(connection: Any, record: Any) -> None:
    """SQLite has no hash function: the connector's own (deterministic, 31 bits, so sums of
    millions of rows stay within SQLite's 64-bit integers)."""
    connection.create_function(_SQLITE_HASH, -1, _row_hash, deterministic=True)


def _row_hash(*values: Any) -> int:
    text = "|".join("" if v is None else str(v) for v in values)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest()) >> 1


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


def _python_type(column: Column[Any]) -> type | None:
    try:
        kind: type = column.type.python_type
    except NotImplementedError:
        return None
    return kind


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
