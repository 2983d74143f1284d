"""The quarantine: records a stage refused, kept with their raw form until someone acts.

``retry`` runs an entry's raw record through the pipeline again with the *current* mappings
(reloaded first, so a mapping an admin just fixed is used): if it is stored, the entry becomes
``retried`` with the golden id; if it is refused again, the entry stays open with the new
errors. ``discard`` closes an entry for good. Entries are never deleted here: an erasure of the
person is what removes personal data (:mod:`gateway.pipeline.quarantine_erasure`), and the
retention job removes decided entries after their days.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import ConflictError, GatewayError, NotFoundError, ValidationIssue
from gateway.pipeline.outcome import RecordOutcome
from gateway.pipeline.runner import DEFAULT_MAPPING, Batch, Pipeline
from gateway.pipeline.stages import Decoded, RecordFormat, Refusal
from gateway.pipeline.tables import quarantine_record
from gateway.runtime import Gateway
from gateway.store.engine import store_error, write_transaction
from gateway.xml.parser import parse_bytes

QuarantineStatus = Literal["open", "retried", "discarded"]


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One refused record. ``raw`` is only filled by :meth:`Quarantine.get` (listings leave
    the payload out)."""

    id: int
    status: QuarantineStatus
    source_system: str
    source: str
    message_id: str | None
    record_index: int | None
    line: int | None
    format: RecordFormat
    mapping: str | None
    stage: str
    code: str
    errors: list[Mapping[str, Any]]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    golden_id: str | None
    raw: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "status": self.status,
            "source_system": self.source_system,
            "source": self.source,
            "message_id": self.message_id,
            "record_index": self.record_index,
            "line": self.line,
            "format": self.format,
            "mapping": self.mapping,
            "stage": self.stage,
            "code": self.code,
            "errors": list(self.errors),
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
            "golden_id": self.golden_id,
        }
        if self.raw is not None:
            out["raw"] = self.raw
        return out


class QuarantineDecidedError(ConflictError):
    """A retry or discard of an entry that is not open any more (HTTP 409)."""

    code = "quarantine_closed"

    def __init__(self, entry_id: int, status: str) -> None:
        self.entry_id = entry_id
        self.status = status
        super().__init__(f"quarantine entry {entry_id} is {status}, not open")


_LISTED = [c for c in quarantine_record.c if c.name not in ("raw", "raw_hash")]


class Quarantine:
    """Listing, showing, retrying and discarding quarantined records."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @property
    def _engine(self) -> Engine:
        return self._gateway.engine

    def list(
        self, status: QuarantineStatus | None = "open", *, limit: int = 100, offset: int = 0,
        source_system: str | None = None, code: str | None = None,
    ) -> builtins.list[QuarantineEntry]:
        """Entries oldest first, without their raw payload; ``source_system`` and ``code`` (the
        refusal's error code) narrow the list."""
        query = select(*_LISTED).order_by(quarantine_record.c.id).limit(limit).offset(offset)
        query = query.where(*_filters(status, source_system, code))
        try:
            with self._engine.connect() as conn:
                return [_entry(row) for row in conn.execute(query).mappings()]
        except SQLAlchemyError as exc:
            raise store_error("listing quarantined records", exc) from exc

    def count(self, status: QuarantineStatus | None = "open", *,
              source_system: str | None = None, code: str | None = None) -> int:
        query = select(func.count()).select_from(quarantine_record)
        query = query.where(*_filters(status, source_system, code))
        try:
            with self._engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise store_error("counting quarantined records", exc) from exc

    def get(self, entry_id: int) -> QuarantineEntry:
        """One entry with its raw record.

        :raises NotFoundError: no such entry.
        """
        query = select(quarantine_record).where(quarantine_record.c.id == entry_id)
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).mappings().first()
        except SQLAlchemyError as exc:
            raise store_error(f"reading quarantine entry {entry_id}", exc) from exc
        if row is None:
            raise NotFoundError("quarantine entry", str(entry_id))
        return _entry(row)

    def retry(self, entry_id: int, *, actor: str = "admin") -> RecordOutcome:
        """Run the record through the pipeline again, with the current mappings.

        :returns: the record's new outcome (``rejected`` if it failed again: the entry is then
            still open, with the new errors).
        :raises NotFoundError: no such entry (or its mapping is gone).
        :raises QuarantineDecidedError: the entry is not open.
        """
        entry = self.get(entry_id)
        if entry.status != "open":
            raise QuarantineDecidedError(entry_id, entry.status)
        self._gateway.mappings.reload()
        batch = Batch(
            entry.source_system,
            f"retry of quarantine entry {entry_id}",
            None,
            entry.mapping or DEFAULT_MAPPING,
            actor,
        )
        pipeline = Pipeline(self._gateway, batch)
        decoded = self._decode(pipeline, entry)
        if decoded.refusal is not None:
            self._refused_again(entry_id, decoded.refusal)
            return RecordOutcome(
                1,
                "rejected",
                None,
                decoded.line,
                decoded.refusal.errors,
                decoded.refusal.code,
                decoded.refusal.stage,
                entry_id,
            )
        (outcome,) = pipeline.writer.write([decoded])
        if outcome.status == "rejected":
            return outcome
        self._close(entry_id, "retried", actor, outcome.golden_id)
        return outcome

    def discard(self, entry_id: int, *, actor: str = "admin") -> None:
        """Close an entry without storing it.

        :raises NotFoundError: no such entry.
        :raises QuarantineDecidedError: the entry is not open.
        """
        entry = self.get(entry_id)
        if entry.status != "open":
            raise QuarantineDecidedError(entry_id, entry.status)
        self._close(entry_id, "discarded", actor, None)

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _decode(pipeline: Pipeline, entry: QuarantineEntry) -> Decoded:
        raw = entry.raw or ""
        index = entry.record_index or 1
        if entry.format in ("json", "row"):
            try:
                data = json.loads(raw)
            except ValueError:
                issue = ValidationIssue(None, None, None, "the stored JSON record is not readable")
                refusal = Refusal("parse", "json_invalid", (issue,))
                return Decoded(index, entry.line, raw, entry.format, refusal=refusal)
            if entry.format == "row":  # a CSV or SQL row: mapped again with its mapping
                return pipeline.decoder.row(data, index, entry.line)
            return pipeline.decoder.document(data, index)
        try:
            element = parse_bytes(raw.encode("utf-8"), source=f"quarantine entry {entry.id}")
        except GatewayError as exc:
            refusal = Refusal.of("parse", exc, None)
            return Decoded(index, entry.line, raw, "xml", refusal=refusal)
        return pipeline.decoder.element(element.getroot(), index)

    def _refused_again(self, entry_id: int, refusal: Refusal) -> None:
        values = {
            "stage": refusal.stage,
            "code": refusal.code,
            "errors": [issue.to_dict() for issue in refusal.errors],
        }
        self._update(entry_id, values, "recording the retry of")

    def _close(self, entry_id: int, status: str, actor: str, golden_id: str | None) -> None:
        values = {
            "status": status,
            "decided_at": datetime.now(UTC),
            "decided_by": actor,
            "golden_id": golden_id,
        }
        self._update(entry_id, values, f"marking {status}")

    def _update(self, entry_id: int, values: dict[str, Any], action: str) -> None:
        q = quarantine_record.c
        try:
            with write_transaction(self._engine) as conn:
                done = conn.execute(
                    update(quarantine_record)
                    .where(q.id == entry_id, q.status == "open")
                    .values(values)
                )
        except SQLAlchemyError as exc:
            raise store_error(f"{action} quarantine entry {entry_id}", exc) from exc
        if done.rowcount != 1:
            raise QuarantineDecidedError(entry_id, "no longer open")


def _filters(status: QuarantineStatus | None, source_system: str | None,
             code: str | None) -> builtins.list[ColumnElement[bool]]:
    c = quarantine_record.c
    given = [(c.status, status), (c.source_system, source_system), (c.code, code)]
    return [column == value for column, value in given if value is not None]


def _entry(row: Any) -> QuarantineEntry:
    return QuarantineEntry(
        id=row["id"],
        status=row["status"],
        source_system=row["source_system"],
        source=row["source"],
        message_id=row["message_id"],
        record_index=row["record_index"],
        line=row["line"],
        format=row["format"],
        mapping=row["mapping"],
        stage=row["stage"],
        code=row["code"],
        errors=list(row["errors"] or ()),
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        golden_id=row["golden_id"],
        raw=row.get("raw"),
    )
