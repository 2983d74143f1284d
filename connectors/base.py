"""What a connector to an outside system is, and how config names one.

Two kinds of source, because outside systems hand data over in two ways:

- a :class:`RecordSource` is *pulled*: the gateway asks for the records changed after a cursor
  (ERP SQL). It yields :class:`RecordBatch` es, each carrying the cursor that covers it, so the
  caller can store the rows and the cursor in one transaction and resume after a crash;
- a :class:`FileInbox` is *pushed* into: another system drops files into a folder (ERP file drop)
  and the gateway takes each complete file once, as one unit.

Connectors are chosen in config by a short alias (``erp_sql``, ``erp_files``), resolved lazily
here as APScheduler resolves its plug-ins, so the gateway imports only this module and never a
driver it does not use. A connector never writes to the system it reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gateway.errors import GatewayError

# alias -> "module:attribute"; a dotted "module:attribute" is accepted as well.
CONNECTORS: dict[str, str] = {
    "erp_sql": "connectors.erp_sql:SqlErpConnector",
    "erp_files": "connectors.erp_files:FileDropInbox",
}


class ConnectorError(GatewayError):
    """An outside system could not be read; names the connector and what was being done."""

    code = "connector_error"

    def __init__(self, connector: str, reason: str) -> None:
        self.connector = connector
        self.reason = reason
        super().__init__(f"connector {connector}: {reason}")

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "connector": self.connector}


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in one stream: the last (modified, key) read. Keys are kept as text."""

    modified: datetime | date | int | str
    key: str


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as the outside system gives it: its key and its named columns."""

    key: str
    data: Mapping[str, Any]


class RecordBatch:
    """Records read together, and the stream cursors to store *with* them.

    ``cursors`` is empty when the batch must not move any cursor: the pages of a full refresh
    move them once, with the last page, to the high-water marks taken before reading. A batch
    may carry the cursors of several streams (an incremental round that read changed rows of
    customers, orders and invoices and summed the customers they touch once).

    The records come either as :class:`SourceRecord` s (``records``) or, on the bulk path, as
    plain tuples (``rows``) whose values follow ``columns``, the record key first: no dict per
    row. ``records`` always works; built from ``rows`` on first use when that is how the batch
    came, so a consumer that wants tuples (:meth:`ColumnSummaryMapper.snapshot_values`) never pays
    for the dicts.
    """

    __slots__ = ("_records", "columns", "cursors", "rows", "rows_by_table", "rows_read", "stream")

    def __init__(
        self,
        stream: str,
        records: Sequence[SourceRecord] = (),
        cursors: Mapping[str, Cursor] | None = None,
        rows_read: int = 0,
        *,
        columns: Sequence[str] = (),
        rows: Sequence[Sequence[Any]] = (),
        rows_by_table: Mapping[str, int] | None = None,
    ) -> None:
        if records and rows:
            raise ValueError("a RecordBatch carries records or rows, not both")
        if rows and not columns:
            raise ValueError("rows need their column names")
        self.stream = stream
        self.cursors: Mapping[str, Cursor] = cursors if cursors is not None else {}
        self.rows_read = rows_read  # source rows read to build these records (for run history)
        # ... per table (default: all of them from the stream's table)
        self.rows_by_table: Mapping[str, int] = (
            rows_by_table if rows_by_table is not None else {stream: rows_read} if rows_read
            else {})
        self.columns: tuple[str, ...] = tuple(columns)
        self.rows = rows
        self._records: tuple[SourceRecord, ...] | None = tuple(records) if records else None

    @property
    def records(self) -> tuple[SourceRecord, ...]:
        if self._records is None:
            names = self.columns
            self._records = tuple(SourceRecord(str(row[0]), dict(zip(names, row, strict=True)))
                                  for row in self.rows)
        return self._records

    @property
    def size(self) -> int:
        """How many records (without building them)."""
        return len(self.rows) if self._records is None else len(self._records)

    def __repr__(self) -> str:
        return (f"RecordBatch({self.stream!r}, {self.size} records, "
                f"cursors={dict(self.cursors)!r}, rows_read={self.rows_read})")


@runtime_checkable
class RecordSource(Protocol):
    """A system the gateway pulls records from (an ERP database)."""

    name: str  # the source system's name: identifiers of its records use it as ``system``

    def changes(self, cursors: Mapping[str, Cursor]) -> Iterator[RecordBatch]:
        """Batches of records changed after ``cursors`` (per stream), each with its cursor.

        :raises ConnectorError: the source cannot be read.
        """
        ...

    def everything(self) -> Iterator[RecordBatch]:
        """Every record (full refresh); the last batch carries the high-water cursors.

        :raises ConnectorError: the source cannot be read.
        """
        ...

    def keys(self) -> Iterator[list[str]]:
        """Every record key that exists now, in pages (for key reconciliation of deletes).

        :raises ConnectorError: the source cannot be read.
        """
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DroppedFile:
    """A complete file taken from an inbox, with the content hash that identifies it."""

    path: Path
    name: str
    content_hash: str
    size: int


@runtime_checkable
class FileInbox(Protocol):
    """A folder other systems drop files into; each complete file is handed out once."""

    name: str

    def ready(self) -> Iterator[DroppedFile]:
        """Files that are complete now (marker present, or renamed in), oldest first."""
        ...

    def archive(self, dropped: DroppedFile, report: Mapping[str, Any]) -> Path:
        """Move a processed file to ``archive/`` with its report beside it; the new path."""
        ...

    def fail(self, dropped: DroppedFile, report: Mapping[str, Any]) -> Path:
        """Move a file that failed to ``failed/`` with its report beside it; the new path."""
        ...


def connector_class(alias: str) -> type[Any]:
    """The connector class registered under ``alias`` (or a ``module:attribute`` reference).

    :raises LookupError: no connector has that alias.
    :raises ImportError: the connector's module (or a driver it needs) cannot be imported.
    """
    reference = CONNECTORS.get(alias, alias if ":" in alias else None)
    if reference is None:
        known = ", ".join(sorted(CONNECTORS))
        raise LookupError(f"no connector with alias '{alias}' (known: {known})")
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"connector '{alias}' needs module {module_name}, which cannot be imported: {exc}"
        ) from exc
    try:
        found: type[Any] = getattr(module, attribute)
    except AttributeError:
        raise LookupError(f"connector '{alias}': {module_name} has no '{attribute}'") from None
    return found
