"""ERP refresh: pull changed customers from the ERP connector into the CRM base's snapshot.

Three operations, each run by a scheduled job or by hand:

- ``incremental``: the records changed after the saved cursors; each batch is written with its
  cursor in one transaction (a crash loses nothing and counts nothing twice);
- ``full``: every customer; the high-water cursors and the marking of customers the ERP no longer
  has are written with the last batch;
- ``reconcile``: the ERP's keys only, to mark deleted customers between full refreshes.

Turning an ERP record into figures is a function passed in (:class:`SummaryMapper`): the mapping
file named by ``erp.mapping`` when there is one, otherwise :class:`ColumnSummaryMapper`, a small
explicit column mapping. A record the mapper refuses is counted as rejected (by key, never with
its data) and the refresh goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Engine

from connectors.base import RecordBatch, RecordSource, SourceRecord
from gateway.erp.snapshot import SnapshotRow, SnapshotStore
from gateway.errors import GatewayError
from gateway.model import CreditStatus, FinancialSummary, Profile

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class RecordRejected(GatewayError):
    """An ERP record cannot become figures; names the record's key and the field."""

    code = "erp_record_rejected"

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        super().__init__(f"ERP customer {key}: {reason}")


class SummaryMapper(Protocol):
    def __call__(self, record: SourceRecord, as_of: datetime) -> FinancialSummary:
        """The figures of one ERP customer record. :raises GatewayError: the record is refused."""
        ...


@dataclass(frozen=True)
class ColumnSummaryMapper:
    """The explicit mapping: the connector's standard record names, ERP credit codes translated.

    Used when no mapping file is configured for ERP rows. An unknown credit code becomes
    ``unknown`` rather than a rejection: the balance and orders are still worth showing.
    """

    credit_codes: Mapping[str, CreditStatus] = field(default_factory=dict)
    # A summary's order and invoice figures come from the record's figures alone, and its
    # credit status and currency from the customer's own columns alone: an incremental
    # refresh may keep a snapshot row's figures and write only its own values.
    figures_apart = True

    def __call__(self, record: SourceRecord, as_of: datetime) -> FinancialSummary:
        data = record.data
        return FinancialSummary(
            as_of=as_of,
            credit_status=self._credit(data.get("credit_status")),
            balance=_money(record.key, "balance", data.get("balance")),
            currency=_currency(record.key, data.get("currency")),
            open_invoices=_count(data.get("open_invoices")),
            order_count=_count(data.get("order_count")),
            lifetime_value=_money(record.key, "lifetime_value", data.get("lifetime_value")),
            last_order_date=_date(record.key, data.get("last_order_date")),
        )

    def snapshot_values(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        as_of: datetime,
        reject: Callable[[str, GatewayError], None],
    ) -> list[tuple[Any, ...]]:
        """The bulk path of :meth:`__call__`: record rows (``columns``, key first, as
        :class:`connectors.base.RecordBatch` carries them) straight to snapshot tuples
        (:data:`gateway.erp.snapshot.VALUE_COLUMNS`), without a dict or a summary per row.

        Same results as ``SnapshotRow(key, self(record, as_of)).as_tuple()``: credit codes and
        currencies are translated once per distinct value, and values of the types the ERP
        normally gives (Decimal, int, date) are taken as they are; anything else, and every
        refusal, goes through :meth:`__call__` for that one row, so messages stay the same.
        """
        index = {name: i for i, name in enumerate(columns)}  # a repeated name: the last wins
        slots = [index.get(name) for name in ("credit_status", "balance", "currency",
                                              "open_invoices", "order_count", "lifetime_value",
                                              "last_order_date")]
        width = len(columns)
        pick = itemgetter(*(i if i is not None else width for i in slots))
        padded = None in slots  # a figure the connector does not give (no invoices table)
        credits: dict[Any, str] = {}
        currencies: dict[Any, str | None] = {None: None, "": None}
        cent = _CENT
        out: list[tuple[Any, ...]] = []
        append = out.append
        for row in rows:
            credit, balance, currency, open_n, order_n, value, last = pick(
                (*row, None) if padded else row)
            try:
                if credit in credits:
                    status = credits[credit]
                else:
                    status = credits[credit] = self._credit(credit).value
                code = currencies[currency]
                balance = _fast_money(balance, cent)
                value = _fast_money(value, cent)
                if (open_n is not None and type(open_n) is not int) or (
                        order_n is not None and type(order_n) is not int) or (
                        last is not None and type(last) is not date):
                    raise _Slow
            except (KeyError, TypeError, _Slow, InvalidOperation):
                key = str(row[0])
                try:
                    summary = self(SourceRecord(key, dict(zip(columns, row, strict=True))), as_of)
                except GatewayError as exc:
                    reject(key, exc)
                    continue
                if isinstance(currency, str) and currency not in currencies:
                    currencies[currency] = summary.currency
                append(SnapshotRow(key, summary).as_tuple())
                continue
            append((str(row[0]), status, balance, code, open_n, order_n, value, last, as_of))
        return out

    def _credit(self, code: Any) -> CreditStatus:
        if code is None:
            return CreditStatus.UNKNOWN
        text = str(code).strip()
        if text in self.credit_codes:
            return self.credit_codes[text]
        try:
            return CreditStatus(text.lower())
        except ValueError:
            return CreditStatus.UNKNOWN


class MappingSummaryMapper:
    """A mapping file (``gateway.mapping``) that maps an ERP record to a profile with figures.

    The snapshot keeps the figures only, so only the file's ``financial`` group is run per
    record (the whole file is still compiled and checked when loaded, and a preview shows the
    whole profile): three to four times faster than mapping every name and address. The
    extraction time is handed to the file as the column ``extracted_at``.
    """

    def __init__(self, mapping: Any) -> None:
        # mapping: gateway.mapping.CompiledMapping; typed loosely to keep this import-free
        self.mapping = mapping
        self._figures = _financial_only(mapping)
        self.figures_apart = _figures_apart(self._figures)

    def __call__(self, record: SourceRecord, as_of: datetime) -> FinancialSummary:
        data = dict(record.data)
        data["extracted_at"] = as_of
        financial = self._financial(record.key, data)
        # The snapshot's own rules, as for the column mapping: amounts in cents, ISO currency.
        return replace(
            financial, as_of=as_of, currency=_currency(record.key, financial.currency),
            balance=_money(record.key, "balance", financial.balance),
            lifetime_value=_money(record.key, "lifetime_value", financial.lifetime_value),
        )

    def snapshot_values(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        as_of: datetime,
        reject: Callable[[str, GatewayError], None],
    ) -> list[tuple[Any, ...]]:
        """The bulk path of :meth:`__call__` (same results): rows straight to snapshot tuples,
        without a record object or a second summary per row."""
        names = (*columns, "extracted_at")
        currencies: dict[Any, str | None] = {}
        out: list[tuple[Any, ...]] = []
        append = out.append
        for row in rows:
            key = str(row[0])
            try:
                f = self._financial(key, dict(zip(names, (*row, as_of), strict=True)))
                currency = f.currency
                if currency in currencies:
                    code = currencies[currency]
                else:
                    code = currencies[currency] = _currency(key, currency)
                append((key, f.credit_status.value, _money(key, "balance", f.balance), code,
                        f.open_invoices, f.order_count,
                        _money(key, "lifetime_value", f.lifetime_value), f.last_order_date,
                        as_of))
            except GatewayError as exc:
                reject(key, exc)
        return out

    def _financial(self, key: str, data: dict[str, Any]) -> FinancialSummary:
        try:
            profile = self._figures.map(data)
        except GatewayError as exc:
            raise RecordRejected(key, exc.message) from exc
        financial = profile.financial if isinstance(profile, Profile) else None
        if financial is None:
            raise RecordRejected(key, f"mapping {self.mapping.name} gave no financial summary")
        return financial


_FIGURE_NAMES = frozenset(("order_count", "lifetime_value", "last_order_date", "open_invoices",
                           "balance"))


def _figures_apart(mapping: Any) -> bool:
    """Whether ``mapping``'s financial group (all that is run per record) maps the figures
    from the record's figures alone and everything else from other columns alone: every
    field of the group that reads a figure column is a figure of the same name read from it
    (``{target: balance, source: balance, transforms: [number]}``), and no other field reads
    one. Anything else (a constant, a figure from two columns, a credit status that looks at
    the balance) is not apart: an incremental refresh then sums every customer it touches."""
    groups = [f for f in mapping.spec.fields if f.target == "financial"]
    for group in groups:
        if group.many is not None or {str(a.value) for a in group.require} & _FIGURE_NAMES:
            return False
        for fld in group.fields or ():
            if fld.fields is not None:
                return False
            read = {str(arg.value) for arg in fld.sources}
            if fld.target in _FIGURE_NAMES:
                if read != {fld.target} or fld.multi_source or fld.value is not None:
                    return False
            elif read & _FIGURE_NAMES:
                return False
    return bool(groups)


def _financial_only(mapping: Any) -> Any:
    """``mapping`` compiled again with its ``financial`` group alone (itself if it has none)."""
    from gateway.mapping.compiler import compile_spec

    spec = mapping.spec
    fields = tuple(f for f in spec.fields if f.target == "financial")
    if not fields or len(fields) == len(spec.fields):
        return mapping
    compiled, errors = compile_spec(replace(spec, fields=fields), None)
    if compiled is None:  # cannot happen for a file that compiled whole; keep the whole one
        log.warning("mapping %s: financial group alone does not compile (%s)", mapping.name,
                    errors[0] if errors else "?")
        return mapping
    return compiled


@dataclass
class RefreshResult:
    """What one refresh did (the figures a job run records)."""

    mode: str
    rows_read: int = 0
    rows_written: int = 0  # snapshot rows written (inserted or updated) ...
    rows_unchanged: int = 0  # ... of which their figures were the same as before
    rows_rejected: int = 0
    rows_deleted: int = 0
    rows_drifted: int = 0  # customers whose child-row checksums differed (summed again)
    rejected_keys: list[str] = field(default_factory=list)  # the first few, for the report
    read_by_table: dict[str, int] = field(default_factory=dict)  # rows read from each table
    master: Any = None  # gateway.erp.master.MasterResult when master data is fed

    def describe(self) -> str:
        tables = ", ".join(f"{t} {n}" for t, n in self.read_by_table.items())
        drift = f", {self.rows_drifted} drifted (checksums)" if self.rows_drifted else ""
        return (f"{self.mode}: {self.rows_read} read, {self.rows_written} written, "
                f"{self.rows_rejected} rejected, {self.rows_deleted} marked deleted, "
                f"{self.rows_unchanged} unchanged{drift}{f' (read: {tables})' if tables else ''}"
                + (f"; {self.master.describe()}" if self.master is not None else ""))

    def count_read(self, by_table: Mapping[str, int]) -> None:
        for table, n in by_table.items():
            self.read_by_table[table] = self.read_by_table.get(table, 0) + n


class ErpRefresher:
    """Moves ERP records into the snapshot: incremental, full, and key reconciliation."""

    def __init__(
        self,
        engine: Engine,
        source: RecordSource,
        to_summary: SummaryMapper,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.source = source
        self.store = SnapshotStore(engine, source.name)
        self.to_summary = to_summary
        self.clock = clock or (lambda: datetime.now(UTC))
        # master data through the pipeline: a feed per refresh (gateway.erp.service)
        self.master: Callable[[str], Any] | None = None
        self._feed: Any = None

    def _start(self, mode: str) -> RefreshResult:
        result = RefreshResult(mode)
        self._feed = self.master(mode) if self.master is not None else None
        if self._feed is not None:
            result.master = self._feed.result
        return result

    def incremental(self) -> RefreshResult:
        """The records changed since the saved cursors (all of them on the very first run),
        then the customers whose child rows in tables followed by checksums changed.

        With a mapper whose figures and own values are apart (:attr:`ColumnSummaryMapper.
        figures_apart`) and a source that can keep figures, a customer whose own row alone
        changed gets its new own values (credit status, currency) written over its snapshot
        row, which keeps its order and invoice figures, instead of being summed again in the
        ERP. Those writes precede the round's batch and move no cursor: a crash between them
        reads the round again, which writes the same values again.

        When the source follows every table on every run, success confirms every customer's
        figures as of the start (:meth:`SnapshotStore.confirm`).
        """
        started = self.clock()
        result = self._start("incremental")
        cursors = self.store.cursors()
        keeping = getattr(self.source, "changes_keeping_figures", None)
        if keeping is not None and getattr(self.to_summary, "figures_apart", False):
            def keep(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> set[str]:
                return self._write_own(columns, rows, result)

            batches = keeping(cursors, keep)
        else:
            batches = self.source.changes(cursors)
        for batch in batches:
            self._write(batch, result)
        if self._checksum_tables("checksum"):
            self._compare_checksums(result)
        if getattr(self.source, "incremental_covers_everything", False):
            self.store.confirm(started, "incremental")
        log.info("ERP %s %s", self.source.name, result.describe())
        return result

    def full(self) -> RefreshResult:
        """Every customer; customers the ERP no longer has are marked deleted, and every
        customer confirmed as of the start, with the last batch."""
        started = self.clock()
        result = self._start("full")
        first_load = self.store.is_empty()  # every key is new: no merge needed (PostgreSQL)
        for batch, last in _marking_last(self.source.everything()):
            self._write(batch, result, deleted_before=started if last else None,
                        new_keys=first_load, confirmed="full" if last else None)
        if first_load:
            self.store.analyze()  # the planner's view of a table just filled (PostgreSQL)
        log.info("ERP %s %s", self.source.name, result.describe())
        return result

    def reconcile(self) -> RefreshResult:
        """Compare keys: live snapshot rows whose key the ERP no longer has are marked deleted.
        Then, for tables followed by checksums, compare every customer's checksum and sum the
        drifted ones again (reported as ``rows_drifted``)."""
        result = self._start("reconcile")
        counted = _Counting(self.source.keys())
        result.rows_deleted = self.store.reconcile(counted, now=self.clock())
        result.rows_read = counted.count
        result.count_read({"customers (keys)": counted.count})
        if self._checksum_tables():
            self._compare_checksums(result)
        log.info("ERP %s %s", self.source.name, result.describe())
        return result

    def _checksum_tables(self, mode: str | None = None) -> list[str]:
        tables = getattr(self.source, "checksum_tables", None)
        return list(tables(mode)) if tables is not None else []

    def _compare_checksums(self, result: RefreshResult) -> None:
        """Sum again, and write with their new checksums, the customers whose child-row
        checksums in the ERP differ from the stored ones (a page of customers at a time)."""
        records_of = self.source.records_of  # type: ignore[attr-defined]
        read = 0
        for page in self.source.checksums():  # type: ignore[attr-defined]
            read += len(page)
            drifted = self.store.differing(page)
            if drifted:
                result.rows_drifted += len(drifted)
                self._write(records_of(drifted), result)
        result.count_read({"customers (checksums)": read})

    def _write_own(self, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                   result: RefreshResult) -> set[str]:
        """Own values of customers whose figures the snapshot keeps; the keys it has no live
        row for, and those the mapper refuses without their figures: summed and mapped whole
        (where a refusal is counted) instead."""
        as_of = self.clock()
        values = self._values(RecordBatch("customers", columns=columns, rows=rows), as_of,
                              lambda key, exc: None)
        hashes = self._feed.feed(columns, rows, as_of) if self._feed is not None else None
        kept = self.store.write_own(values, hashes)
        result.rows_written += len(kept)
        return {str(row[0]) for row in rows} - kept

    def _values(self, batch: RecordBatch, as_of: datetime,
                reject: Callable[[str, GatewayError], None]) -> list[tuple[Any, ...]]:
        """The snapshot tuples of ``batch``'s records; ``reject`` is told of each refusal."""
        bulk = getattr(self.to_summary, "snapshot_values", None)
        if batch.rows and bulk is not None:
            values: list[tuple[Any, ...]] = bulk(batch.columns, batch.rows, as_of, reject)
            return values
        values = []
        for record in batch.records:
            try:
                values.append(SnapshotRow(record.key, self.to_summary(record, as_of))
                              .as_tuple())
            except GatewayError as exc:
                reject(record.key, exc)
        return values

    def _write(self, batch: RecordBatch, result: RefreshResult,
               deleted_before: datetime | None = None, new_keys: bool = False,
               confirmed: str | None = None) -> None:
        as_of = self.clock()

        def reject(key: str, exc: GatewayError) -> None:
            result.rows_rejected += 1
            if len(result.rejected_keys) < 20:
                result.rejected_keys.append(key)
            log.warning("ERP %s: customer %s rejected: %s", self.source.name, key, exc.message)

        values = self._values(batch, as_of, reject)
        result.rows_read += batch.rows_read
        result.count_read(batch.rows_by_table)
        hashes = None
        if self._feed is not None and batch.rows:
            hashes = self._feed.feed(batch.columns, batch.rows, as_of)
        checksums = None
        if "checksum" in batch.columns and batch.rows:
            at = batch.columns.index("checksum")
            checksums = {str(row[0]): row[at] for row in batch.rows}
        done = self.store.write_values(values, batch.cursors, deleted_before=deleted_before,
                                       now=as_of, new_keys=new_keys, checksums=checksums,
                                       confirmed=confirmed, master_hashes=hashes)
        result.rows_written += done.written
        result.rows_unchanged += done.unchanged
        result.rows_deleted += done.deleted


def _marking_last(batches: Iterable[RecordBatch]) -> Iterator[tuple[RecordBatch, bool]]:
    """Each batch with whether it is the last."""
    pending: RecordBatch | None = None
    for batch in batches:
        if pending is not None:
            yield pending, False
        pending = batch
    if pending is not None:
        yield pending, True


class _Counting:
    """Passes key pages through, counting the keys (the reconciliation's rows read)."""

    def __init__(self, pages: Iterable[list[str]]) -> None:
        self._pages = pages
        self.count = 0

    def __iter__(self) -> Any:
        for page in self._pages:
            self.count += len(page)
            yield page


_CENT = Decimal("0.01")


class _Slow(Exception):
    """A value the bulk path leaves to :meth:`ColumnSummaryMapper.__call__`."""


def _fast_money(value: Any, cent: Decimal) -> Decimal | None:
    if value is None:
        return None
    if type(value) is Decimal:
        return value.quantize(cent)
    if type(value) is int:
        return Decimal(value).quantize(cent)
    raise _Slow


def _money(key: str, name: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise RecordRejected(key, f"{name} is not an amount") from None


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _currency(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().upper()
    if len(text) != 3 or not text.isalpha():
        raise RecordRejected(key, "currency is not an ISO 4217 code")
    return text


def _date(key: str, value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise RecordRejected(key, "last_order_date is not a date") from None
