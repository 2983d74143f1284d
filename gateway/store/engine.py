"""Connecting to the CRM base: engines, transactions, and driver errors turned into StoreError.

Two backends: a SQLite file (embedded default) and PostgreSQL (production, through psycopg 3).
Engines are made on request only, never at import time.

SQLite notes. WAL lets readers work while one writer writes; ``foreign_keys`` is off by default
in SQLite and must be switched on per connection; the busy timeout makes a writer wait for the
lock instead of failing at once. The sqlite3 module's own transaction handling is switched off
(``isolation_level = None``) and SQLAlchemy emits ``BEGIN`` itself, as the SQLAlchemy docs
recommend: otherwise sqlite3 starts a transaction only before DML, so a read-then-write sequence
(and DDL in migrations) would not be one transaction. :func:`write_transaction` begins with
``BEGIN IMMEDIATE`` so that two writers never both read and then fail upgrading to the write
lock (SQLite answers that with "database is locked" at once, whatever the busy timeout).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gateway.errors import ConfigError, DatabaseError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_DRIVER = "postgresql+psycopg"

# The execution option :func:`write_transaction` sets; read by the SQLite ``begin`` hook.
_SQLITE_BEGIN_OPTION = "cpex_sqlite_begin"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def make_engine(url: str | URL, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for a ``sqlite:///path`` or ``postgresql[+psycopg]://`` URL.

    A plain ``postgresql://`` (or ``postgres://``) URL is switched to psycopg 3. ``schema``
    (PostgreSQL only) puts that schema alone on the ``search_path``, so that tables, the alembic
    version table and reflection all live there: this is how tests isolate themselves.

    :raises ConfigError: the URL cannot be parsed, names another database, or ``schema`` is given
        for SQLite or is not a plain identifier.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ConfigError("a schema can only be chosen for PostgreSQL", key="schema")
        return _sqlite_engine(parsed, echo)
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername=PG_DRIVER)
        if schema is not None:
            parsed = with_search_path(parsed, schema)
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    raise ConfigError(
        f"unsupported database '{backend}' in {safe_url(parsed)}: use sqlite or postgresql",
        key="database.url",
    )


def with_search_path(url: str | URL, schema: str) -> URL:
    """``url`` with libpq ``options`` that make ``schema`` the only entry of ``search_path``.

    Keeping the schema in the URL means anything that takes a URL (migrations, the CLI) works
    inside the same schema.
    """
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"schema name '{schema}' is not a plain identifier", key="schema")
    parsed = _parse(url)
    existing = parsed.query.get("options", "")
    if not isinstance(existing, str):  # given twice in the query string
        existing = " ".join(existing)
    options = f"{existing} -csearch_path={schema}".strip()
    return parsed.update_query_dict({"options": options})


def safe_url(url: str | URL) -> str:
    """The URL for messages and logs: password hidden."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except ConfigError:
        return "(unparseable database URL)"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One read-write transaction: committed when the block ends, rolled back if it raises.

    On SQLite it takes the write lock at ``BEGIN`` (see the module docstring); on PostgreSQL it
    is an ordinary transaction, and code that must serialise locks rows itself.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


def store_error(action: str, exc: SQLAlchemyError) -> DatabaseError:
    """The one wrapper of driver errors: a :class:`DatabaseError` saying what was being done,
    for ``raise store_error(...) from exc``.

    Only the first line of the driver message is kept, for logs and the operator's CLI:
    SQLAlchemy's own text carries the SQL parameters (whole profiles) and PostgreSQL's DETAIL
    line carries row values, neither of which may reach a log. An API answer carries none of it
    (:attr:`DatabaseError.message`).
    """
    cause = getattr(exc, "orig", None) or exc
    first_line = str(cause).strip().partition("\n")[0]
    return DatabaseError(action, type(cause).__name__ + (f": {first_line}" if first_line else ""))


def _parse(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {exc}", key="database.url") from exc


def _sqlite_engine(url: URL, echo: bool) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (_sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")
