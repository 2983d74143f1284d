"""The pipeline: records in, per-record outcomes out, a chunk per transaction.

Records are decoded one at a time as they stream in (:mod:`.stages`: validate, map, prepare),
so the parser can clear each element at once; decoded records gather into chunks of
``chunk_size``. Each chunk is one transaction: the store resolves and saves its records
(:meth:`ProfileStore.save_many`), the outbox rows of their golden changes and the quarantine
rows of the refused ones are written, and it commits. A record is thus stored with its outbox
event or not at all, whatever happens to the process.

If the chunk's transaction fails (a database error caused by one record), it is rolled back and
the chunk is run again with a savepoint per record: the good records commit, the bad one goes to
quarantine with stage ``store``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import GatewayError, NotFoundError, UnknownSchemaError, ValidationIssue
from gateway.mapping.compiler import CompiledMapping
from gateway.mapping.record import Operation, RunValues
from gateway.model.namespaces import CPEX_PROFILE_NS
from gateway.pipeline import messages, outbox
from gateway.pipeline.outcome import BatchReport, RecordOutcome
from gateway.pipeline.rejects import Origin, quarantine
from gateway.pipeline.stages import Decoded, RecordDecoder, Refusal
from gateway.privacy.trust import IdentifierTrust
from gateway.runtime import Gateway
from gateway.store.bulk import PlannerStatistics
from gateway.store.engine import store_error, write_transaction
from gateway.store.profiles import ProfileStore, SaveResult
from gateway.store.tables import source_record
from gateway.telemetry import INGEST_RECORDS

log = logging.getLogger(__name__)

DEFAULT_MAPPING = "cpex-in"
# Records per transaction. Bigger chunks share more index pages between the records of one
# commit (SQLite rewrites every page a commit dirtied): 500 -> 1000 was 1,508 -> 1,690
# profiles/s at 100k in the ingest benchmark, 2000 only 1,732, for twice the memory and
# twice the records to retry one by one when a chunk fails.
CHUNK_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Batch:
    """What the pipeline needs to know about a batch besides its records."""

    source_system: str
    source: str  # for messages and the quarantine: a file name, "message <id>", "api"
    message_id: str | None = None
    mapping: str = DEFAULT_MAPPING
    actor: str = "import"
    file_name: str | None = None  # a file's name (import, file drop): the mapping may read it
    partner_id: str | None = None  # the partner whose credentials sent the batch
    # The identifier screen of the batch's records; None: the source's default (a partner
    # system asserts its own namespace only, see IdentifierTrust.for_source).
    identifier_trust: IdentifierTrust | None = None

    def run_values(self, received_at: datetime) -> RunValues:
        """What the batch's mapping may read as ``runtime`` values."""
        return RunValues(import_time=received_at, message_id=self.message_id,
                         source_system=self.source_system, file_name=self.file_name,
                         partner_id=self.partner_id)


class Pipeline:
    """One pipeline for every inbound source (files, REST, SOAP, ERP feeds)."""

    def __init__(
        self,
        gateway: Gateway,
        batch: Batch,
        *,
        chunk_size: int = CHUNK_SIZE,
        keep_outcomes: bool = True,
        on_record: Callable[[RecordOutcome], None] | None = None,
    ) -> None:
        """:raises NotFoundError: the mapping is not loaded."""
        self.gateway = gateway
        self.batch = batch
        self.chunk_size = chunk_size
        self.keep_outcomes = keep_outcomes
        self.on_record = on_record
        origin = Origin(batch.source_system, batch.source, batch.message_id, batch.mapping)
        self.writer = ChunkWriter(gateway.profiles, origin, RecordEraser(gateway, batch))
        mapping = self._mapping()
        self.decoder = RecordDecoder(
            source_system=batch.source_system,
            actor=batch.actor,
            mapping=mapping,
            validator=self._record_validator(mapping),
            profile_validator=gateway.schemas.validator(CPEX_PROFILE_NS),
            run=batch.run_values(datetime.now(UTC)),
            identifier_trust=batch.identifier_trust
            or IdentifierTrust.for_source(batch.source_system),
        )

    # --- entry points ---------------------------------------------------------------------

    def run_elements(self, elements: Iterable[etree._Element]) -> BatchReport:
        """XML records (from :func:`gateway.xml.parser.iter_records` or a parsed envelope)."""
        return self._run(self.decoder.element(e, i) for i, e in enumerate(elements, start=1))

    def run_documents(self, documents: Iterable[Any]) -> BatchReport:
        """JSON records, each a canonical profile object."""
        return self._run(self.decoder.document(d, i) for i, d in enumerate(documents, start=1))

    def run_mapped(self, records: Iterable[Any], *, first_line: int | None = None
                   ) -> BatchReport:
        """Records in the batch mapping's own format that are not XML: JSON objects, CSV or
        SQL rows. ``first_line`` is the file line of the first record (a CSV's 2: its header
        is line 1); None when records have no lines (JSON)."""
        return self._run(
            self.decoder.row(record, index,
                             line=None if first_line is None else first_line + index - 1)
            for index, record in enumerate(records, start=1)
        )

    def run_body(self, body: bytes) -> BatchReport:
        """A whole document in the batch mapping's own format (XML, JSON or CSV): its records
        read by the mapping's reader (XML by the hardened parser), then run as above.

        :raises MappingFailure: the document cannot be read in that format.
        :raises XMLError: an XML document the hardened parser refuses.
        """
        mapping = self.decoder.mapping
        if mapping is None:  # pragma: no cover - a pipeline always has its mapping
            raise NotFoundError("inbound mapping", self.batch.mapping)
        limits = self.gateway.xml_limits

        def records() -> Iterator[Any]:  # read once the message id is known to be new
            yield from mapping.reader.read_bytes(body, limits)

        if mapping.source_format == "xml":
            return self.run_elements(records())
        return self.run_mapped(records(),
                               first_line=2 if mapping.source_format == "csv" else None)

    def run_decoded(self, decoded: Iterable[Decoded]) -> BatchReport:
        """Records already decoded (a quarantine retry)."""
        return self._run(iter(decoded))

    # --- the run ----------------------------------------------------------------------------

    def _run(self, decoded: Iterator[Decoded]) -> BatchReport:
        report = BatchReport(self.batch.source, self.batch.message_id, self.keep_outcomes)
        message_id = self.batch.message_id
        if message_id is not None:
            stored = messages.begin(self.gateway.engine, message_id, self.batch.source_system)
            if stored is not None:
                report.replayed, report.stored = True, stored
                log.info("message %s was processed before: stored acknowledgement", message_id)
                return report
        try:
            self._store_all(decoded, report)
        except BaseException:
            if message_id is not None:  # a re-send runs it again; the row says it failed
                messages.fail(self.gateway.engine, message_id, self.batch.source_system)
            raise
        if message_id is not None:
            messages.finish(
                self.gateway.engine,
                message_id,
                self.batch.source_system,
                report.acknowledgement(),
                report.total,
            )
        return report

    def _store_all(self, decoded: Iterator[Decoded], report: BatchReport) -> None:
        chunk: list[Decoded] = []
        for item in decoded:
            if item.operation is Operation.ERASE:
                # in file order: what came before is stored first, what follows after
                self._flush(chunk, report)
                self._flush([item], report)
                chunk = []
                continue
            chunk.append(item)
            if len(chunk) >= self.chunk_size:
                self._flush(chunk, report)
                chunk = []
        self._flush(chunk, report)

    def _flush(self, chunk: list[Decoded], report: BatchReport) -> None:
        if not chunk:
            return
        counted = INGEST_RECORDS.labels
        for outcome in self.writer.write(chunk):
            report.add(outcome)
            counted(self.batch.source_system, outcome.status).inc()
            if self.on_record is not None:
                self.on_record(outcome)

    # --- set-up -----------------------------------------------------------------------------

    def _mapping(self) -> CompiledMapping:
        mapping = self.gateway.mappings.get(self.batch.mapping)
        if mapping.direction != "inbound" or mapping.target_format != "canonical":
            raise NotFoundError("inbound mapping to the canonical profile", self.batch.mapping)
        return mapping

    def _record_validator(self, mapping: CompiledMapping) -> Any:
        """The validator of the mapping's record namespace; None when no schema is registered
        for it, or the records are not XML (CSV rows, SQL rows: the mapped profile is validated
        as CPEX instead)."""
        if mapping.spec.source.format != "xml":
            return None
        namespace = record_namespace(mapping)
        try:
            return self.gateway.schemas.validator(namespace)
        except UnknownSchemaError:
            log.info(
                "no schema for %s: records of %s are not validated", namespace, self.batch.mapping
            )
            return None


class RecordEraser:
    """Erases the person a record of the batch names, when its mapping says ``do: erase``.

    The erasure itself is the gateway's one erasure (:meth:`Gateway.erase_for_source`: profile,
    source records, quarantined records, outbox payloads, notices to earlier recipients), under
    the same rule as a partner's EraseProfile: only a source that holds a record of the person
    may erase, and a partner erases only its own records of them and files an erasure request
    for the rest. A record for someone the source has no record of (never sent, or erased
    before) gets the same answer, ``erased``: a sender learns nothing from it.
    """

    def __init__(self, gateway: Gateway, batch: Batch) -> None:
        self.gateway = gateway
        self.batch = batch

    def __call__(self, conn: Connection, decoded: Decoded, now: datetime) -> RecordOutcome:
        assert decoded.erase_key is not None
        golden_id = conn.execute(
            select(source_record.c.golden_id).where(
                source_record.c.source_system == self.batch.source_system,
                source_record.c.source_key == decoded.erase_key,
            )
        ).scalar()
        if golden_id is not None:
            self.gateway.erase_for_source(
                conn, golden_id, source_system=self.batch.source_system, actor=self.batch.actor,
                requested_by=self.batch.partner_id, message_id=self.batch.message_id, now=now,
            )
        return RecordOutcome(decoded.index, "erased", None, decoded.line, reason=decoded.reason,
                             warnings=decoded.warnings)


class ChunkWriter:
    """Stores decoded records, a chunk per transaction, with the record-by-record fallback."""

    def __init__(self, store: ProfileStore, origin: Origin,
                 eraser: Callable[[Connection, Decoded, datetime], RecordOutcome]) -> None:
        self.store = store
        self.origin = origin
        self.eraser = eraser
        self.statistics = PlannerStatistics(store.engine)

    def write(self, chunk: list[Decoded]) -> list[RecordOutcome]:
        """Every record's outcome, in the chunk's order; refused records are quarantined."""
        try:
            with cyclic_gc_paused():
                outcomes = self._write_chunk(chunk)
        except (SQLAlchemyError, GatewayError) as exc:
            log.warning(
                "chunk of %d records from %s failed (%s): retrying record by record",
                len(chunk),
                self.origin.source,
                type(exc).__name__,
            )
            outcomes = self._write_one_by_one(chunk)
        self.statistics.stored(sum(o.status not in ("rejected", "unchanged") for o in outcomes))
        return outcomes

    def _write_chunk(self, chunk: list[Decoded]) -> list[RecordOutcome]:
        good = [d for d in chunk if d.incoming is not None]
        refused = [(d, d.refusal) for d in chunk if d.refusal is not None]
        now = datetime.now(UTC)
        by_index: dict[int, RecordOutcome] = {}
        with write_transaction(self.store.engine) as conn:
            results = self.store.save_many(conn, [d.incoming for d in good if d.incoming])
            self._write_events(conn, good, results, now)
            quarantine_ids = quarantine(conn, refused, self.origin, now)
            for decoded in chunk:
                if decoded.operation is Operation.ERASE and decoded.erase_key is not None:
                    by_index[decoded.index] = self.eraser(conn, decoded, now)
        for decoded in chunk:
            if decoded.operation is Operation.SKIP:
                by_index[decoded.index] = _skipped(decoded)
        for decoded, result in zip(good, results, strict=True):
            by_index[decoded.index] = _stored(decoded, result)
        for (decoded, refusal), qid in zip(refused, quarantine_ids, strict=True):
            by_index[decoded.index] = _rejected(decoded, refusal, qid)
        return [by_index[d.index] for d in chunk]

    def _write_one_by_one(self, chunk: list[Decoded]) -> list[RecordOutcome]:
        """The fallback: one savepoint per record, so one bad record cannot sink the others."""
        outcomes: list[RecordOutcome] = []
        now = datetime.now(UTC)
        try:
            with write_transaction(self.store.engine) as conn:
                for decoded in chunk:
                    outcomes.append(self._write_guarded(conn, decoded, now))
        except SQLAlchemyError as exc:
            raise store_error(f"storing a chunk of {self.origin.source}", exc) from exc
        return outcomes

    def _write_guarded(self, conn: Connection, decoded: Decoded, now: datetime) -> RecordOutcome:
        if decoded.operation is Operation.SKIP:
            return _skipped(decoded)
        if decoded.operation is Operation.ERASE and decoded.erase_key is not None:
            with conn.begin_nested():
                return self.eraser(conn, decoded, now)
        refusal = decoded.refusal
        if decoded.incoming is not None:
            try:
                with conn.begin_nested():
                    (result,) = self.store.save_many(conn, [decoded.incoming])
                    self._write_events(conn, [decoded], [result], now)
                return _stored(decoded, result)
            except (SQLAlchemyError, GatewayError) as exc:
                refusal = _store_refusal(exc, decoded)
                log.warning(
                    "record %d of %s refused by the store: %s",
                    decoded.index,
                    self.origin.source,
                    refusal.errors[0].message,
                )
        assert refusal is not None
        (qid,) = quarantine(conn, [(decoded, refusal)], self.origin, now)
        return _rejected(decoded, refusal, qid)

    @staticmethod
    def _write_events(
        conn: Connection, good: list[Decoded], results: list[SaveResult], now: datetime
    ) -> None:
        rows = [
            outbox.event_row(
                change,
                now,
                {"source_system": d.incoming.source_system, "source_key": d.incoming.source_key},
            )
            for d, result in zip(good, results, strict=True)
            if d.incoming is not None
            for change in result.changes
            if outbox.is_event(change)
        ]
        outbox.write_rows(conn, rows)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a chunk is stored.

    A chunk keeps tens of thousands of small dicts and lists alive (documents, features,
    rows) for a fraction of a second; the collector scans them again and again as they age,
    which cost about a fifth of the store's CPU time in the ingest benchmark. They hold no
    reference cycles: reference counting frees them either way, and the collector, back on
    afterwards, still finds any cycle made meanwhile. Left as found if another thread (or an
    outer caller) has paused it already.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def record_tag(mapping: CompiledMapping) -> str:
    """The Clark-notation tag of a mapping's XML record element (``{ns}Profile``)."""
    source = mapping.spec.source
    if source.format != "xml" or source.record is None:
        raise NotFoundError("XML inbound mapping", mapping.name)
    prefix, _, local = str(source.record.value).rpartition(":")
    namespace = source.namespaces.get(prefix) if prefix else None
    return f"{{{namespace}}}{local}" if namespace else local


def record_namespace(mapping: CompiledMapping) -> str | None:
    tag = record_tag(mapping)
    return tag[1:].partition("}")[0] if tag.startswith("{") else None


def _stored(decoded: Decoded, result: SaveResult) -> RecordOutcome:
    return RecordOutcome(
        decoded.index,
        result.outcome,
        result.golden_id,
        decoded.line,
        review_ids=result.review_ids,
        warnings=decoded.warnings,
    )


def _skipped(decoded: Decoded) -> RecordOutcome:
    return RecordOutcome(decoded.index, "skipped", None, decoded.line, reason=decoded.reason)


def _rejected(decoded: Decoded, refusal: Refusal, quarantine_id: int) -> RecordOutcome:
    return RecordOutcome(
        decoded.index,
        "rejected",
        None,
        decoded.line,
        refusal.errors,
        refusal.code,
        refusal.stage,
        quarantine_id,
        reason=decoded.reason,
    )


def _store_refusal(exc: Exception, decoded: Decoded) -> Refusal:
    if isinstance(exc, GatewayError):
        return Refusal.of("store", exc, decoded.line)
    label = decoded.incoming.label if decoded.incoming is not None else f"record {decoded.index}"
    error = store_error(f"storing source record {label}", exc)  # type: ignore[arg-type]
    return Refusal("store", error.code, (ValidationIssue(decoded.line, None, None, error.message),))
