"""Bulk writes and planner statistics for the chunked import (:mod:`gateway.store.chunk`) and
the outbox."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, insert, text
from sqlalchemy.exc import DBAPIError

from gateway.store.tables import golden_profile, identifier, match_key, source_record

log = logging.getLogger(__name__)

# JSON columns written by COPY: what SQLAlchemy's JSON type binds (``json.dumps``).
_JSON = json.JSONEncoder()


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys: ``COPY`` on PostgreSQL (several times the rows
    per second of an executemany there: docs/architecture.md), an executemany elsewhere.

    Database errors come out as SQLAlchemy's, as from ``conn.execute``.
    """
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        _executemany(conn, table, rows)
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    documents = {name for name in columns if isinstance(table.c[name].type, JSON)}
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(
                    [
                        _JSON.encode(row[name])
                        if name in documents and row[name] is not None
                        else row[name]
                        for name in columns
                    ]
                )
    except conn.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy would have raised it: callers tell database errors by that family.
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error) from exc


# The tables whose statistics the chunk's reads depend on.
_PLANNED = (source_record, match_key, identifier, golden_profile)
# Below this many new records, stale statistics cost less than an ANALYZE.
_MIN_GROWTH = 500


def _executemany(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """The INSERT compiled once and the column types' own bind processors applied here: the
    same statement and values as ``conn.execute(insert(table), rows)``, without SQLAlchemy's
    per-row parameter handling, which cost as much as SQLite's own work on small rows."""
    dialect = conn.dialect
    columns = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=columns)
    order = compiled.positiontup
    assert order is not None and set(order) == set(columns), (order, columns)
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
    ]
    plain = all(p is None for p in processors)
    if plain:
        values = [tuple(row[name] for name in order) for row in rows]
    else:
        steps = list(zip(order, processors, strict=True))
        values = [
            tuple(row[name] if process is None else process(row[name]) for name, process in steps)
            for row in rows
        ]
    conn.exec_driver_sql(str(compiled), values)


class PlannerStatistics:
    """Keeps PostgreSQL's table statistics in step with a bulk import.

    The planner picks the plans of the chunk's reads (``key IN (...)`` on ``match_key``,
    ``(source_system, source_key)`` on ``source_record``) from table statistics. A first import
    into fresh tables leaves them saying "empty", and the block query becomes a sequential
    scan of ``match_key`` per chunk (seen with ``EXPLAIN ANALYZE``: 13 ms at 20k records and
    growing with the table). Autovacuum analyses too late for an import running now, so the
    import does it itself, in its own short transaction, whenever it has stored more records
    than the table held at the last analysis: log2(N) times in all. A no-op on SQLite, whose
    planner uses the indexes without statistics.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self.baseline: float | None = None
        self.since = 0

    def stored(self, records: int) -> None:
        """Count a committed chunk's records; analyse when they outgrow the statistics."""
        if not self.enabled or not records:
            return
        if self.baseline is None:
            self.baseline = self._estimate()
        self.since += records
        if self.since < max(self.baseline, _MIN_GROWTH):
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in _PLANNED))
            conn.commit()
        log.info("analysed the identity tables after %d new records", self.since)
        self.baseline += self.since
        self.since = 0

    def _estimate(self) -> float:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
                {"name": source_record.name},
            ).scalar()
        return max(float(rows or 0), 0.0)  # -1: never analysed
