"""The quarantine: records a stage refused, kept with their raw form until someone acts.

``retry`` runs an entry's raw record through the pipeline again with the *current* mappings
(reloaded first, so a mapping an admin just fixed is used): if it is stored, the entry becomes
``retried`` with the golden id; if it is refused again, the entry stays open with the new
errors. ``discard`` closes an entry for good. Entries are never deleted here: an erasure of the
person is what removes personal data.

Erasure (:func:`erase_quarantined`, called by :func:`gateway.delivery.rights.erase_in_transaction`
in the erasure's transaction) deletes every entry, of any status, that holds the erased person's
data. A refused record never became part of the person's profile, so the link is found in the
raw record itself: the person's golden ids (a retried entry records one), a source key of the
entry's own source system (or any system + key pair written as one, as CPEX identifiers are),
an e-mail address (without case) or a phone number (E.164, or dialled as a national number)
held as a whole value, attribute or JSON string. Entries are deleted, not kept as tombstones:
their errors and line numbers describe the record too, and the erasure's audit row keeps the
count. Candidates are narrowed in SQL (``LIKE`` on the raw text) and then confirmed by parsing.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import GatewayError, NotFoundError, ValidationIssue
from gateway.pipeline.outcome import RecordOutcome
from gateway.pipeline.runner import DEFAULT_MAPPING, Batch, Pipeline
from gateway.pipeline.stages import Decoded, Refusal
from gateway.pipeline.tables import quarantine_record
from gateway.runtime import Gateway
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import golden_alias, golden_profile, identifier, source_record
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
    format: str
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


class QuarantineDecidedError(GatewayError):
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
        self, status: QuarantineStatus | None = "open", *, limit: int = 100, offset: int = 0
    ) -> builtins.list[QuarantineEntry]:
        """Entries oldest first, without their raw payload."""
        query = select(*_LISTED).order_by(quarantine_record.c.id).limit(limit).offset(offset)
        if status is not None:
            query = query.where(quarantine_record.c.status == status)
        try:
            with self._engine.connect() as conn:
                return [_entry(row) for row in conn.execute(query).mappings()]
        except SQLAlchemyError as exc:
            raise store_error("listing quarantined records", exc) from exc

    def count(self, status: QuarantineStatus | None = "open") -> int:
        query = select(func.count()).select_from(quarantine_record)
        if status is not None:
            query = query.where(quarantine_record.c.status == status)
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


# --- erasure ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataSubject:
    """What identifies one person in a raw record (see the module doc)."""

    golden_ids: frozenset[str]
    keys: frozenset[tuple[str, str]]  # (system, key)
    emails: frozenset[str]  # lower case
    phones: frozenset[str]  # digits of the E.164 number, without "+"

    @property
    def empty(self) -> bool:
        return not (self.golden_ids or self.keys or self.emails or self.phones)


def data_subject(conn: Connection, golden_id: str) -> DataSubject:
    """The person behind ``golden_id`` as the CRM base knows them now (read before erasing):
    their golden ids (merged-away ones included), keys, e-mail addresses and phone numbers."""
    ids = {golden_id} | set(
        conn.execute(
            select(golden_alias.c.alias_id).where(golden_alias.c.golden_id == golden_id)
        ).scalars()
    )
    keys = {
        (row.system, row.key)
        for row in conn.execute(
            select(identifier.c.system, identifier.c.key).where(identifier.c.golden_id == golden_id)
        )
    }
    documents = [
        *conn.execute(select(golden_profile.c.document).where(golden_profile.c.id == golden_id))
        .scalars(),
        *conn.execute(
            select(source_record.c.document).where(source_record.c.golden_id == golden_id)
        ).scalars(),
    ]
    keys |= {
        (row.source_system, row.source_key)
        for row in conn.execute(
            select(source_record.c.source_system, source_record.c.source_key).where(
                source_record.c.golden_id == golden_id
            )
        )
    }
    emails: set[str] = set()
    phones: set[str] = set()
    for document in documents:
        for item in _items(document, "emails"):
            if isinstance(item.get("address"), str) and item["address"].strip():
                emails.add(item["address"].strip().lower())
        for item in _items(document, "phones"):
            digits = _digits(item.get("number"))
            if len(digits) >= _MIN_PHONE_DIGITS:
                phones.add(digits)
        for item in _items(document, "identifiers"):
            if isinstance(item.get("system"), str) and isinstance(item.get("key"), str):
                keys.add((item["system"], item["key"]))
    return DataSubject(frozenset(ids), frozenset(keys), frozenset(emails), frozenset(phones))


def erase_quarantined(conn: Connection, subject: DataSubject) -> int:
    """Delete the quarantine entries holding ``subject``'s data, on the caller's connection
    (the erasure's transaction); returns how many were deleted."""
    if subject.empty:
        return 0
    q = quarantine_record.c
    candidates = conn.execute(
        select(q.id, q.source_system, q.format, q.raw, q.golden_id).where(
            or_(*_narrowing(subject))
        )
    ).all()
    doomed = [row.id for row in candidates if _holds(row, subject)]
    for start in range(0, len(doomed), 500):
        conn.execute(delete(quarantine_record).where(q.id.in_(doomed[start:start + 500])))
    return len(doomed)


_MIN_PHONE_DIGITS = 6
#: The tail of a phone number that must appear, digits only, in a raw record to be a candidate.
_PHONE_TAIL = 7
_PHONE_LIKE = re.compile(r"^\+?[\d\s()./-]+$")
_WORD_EDGE = r"(?<![\w@.+-]){}(?![\w@.+-])"
#: In a record that cannot be parsed, a key shorter than this counts only as key="...".
_MIN_KEY_WORD = 4


def _narrowing(subject: DataSubject) -> list[ColumnElement[bool]]:
    """SQL conditions, OR-ed, that every entry holding the subject's data meets."""
    q = quarantine_record.c
    raw_lower = func.lower(q.raw)
    squeezed: Any = q.raw
    for char in (" ", "-", "/", ".", "(", ")"):
        squeezed = func.replace(squeezed, char, "")
    conditions: list[ColumnElement[bool]] = [q.golden_id.in_(sorted(subject.golden_ids))]
    conditions += [raw_lower.contains(e, autoescape=True) for e in sorted(subject.emails)]
    keys = sorted({key for _, key in subject.keys})
    conditions += [q.raw.contains(key, autoescape=True) for key in keys]
    conditions += [
        squeezed.contains(p[-_PHONE_TAIL:], autoescape=True) for p in sorted(subject.phones)
    ]
    return conditions


def _holds(row: Any, subject: DataSubject) -> bool:
    if row.golden_id is not None and row.golden_id in subject.golden_ids:
        return True
    read = _read_values(row.raw, row.format)
    if read is None:  # unreadable (a parse-stage refusal): whole words of the text instead
        return _text_holds(row.raw, row.source_system, subject)
    if read.pairs:  # keys written with their system (CPEX identifiers): only those count
        if read.pairs & subject.keys:
            return True
    else:  # a partner format: a key of the entry's own system in an id or key field
        own_keys = {key for system, key in subject.keys if system == row.source_system}
        if read.key_values & own_keys:
            return True
    return any(
        value.lower() in subject.emails or _is_phone_of(value, subject) for value in read.values
    )


@dataclass(slots=True)
class _Values:
    values: set[str]  # every text, attribute value or JSON string, stripped
    pairs: set[tuple[str, str]]  # (system, key) written together
    key_values: set[str]  # values of fields named like an id or key (customer-id, key, Id)


#: customer-id, id, Id, customer_ID, CustomerId, key, Key, customerKey
_KEY_NAME = re.compile(r"(?:^|[^A-Za-z])(?:id|Id|ID)$|[a-z]Id$|[Kk]ey")


def _read_values(raw: str, fmt: str) -> _Values | None:
    """What a raw record holds (see :class:`_Values`); ``None`` when it cannot be read."""
    read = _Values(set(), set(), set())
    if fmt == "json":
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        for name, node in _walk(data, ""):
            if isinstance(node, dict):
                system, key = node.get("system"), node.get("key")
                if isinstance(system, str) and isinstance(key, str):
                    read.pairs.add((system, key))
            elif isinstance(node, str | int) and not isinstance(node, bool):
                read.values.add(str(node).strip())
                if _KEY_NAME.search(name):
                    read.key_values.add(str(node).strip())
        return read
    try:
        root = parse_bytes(raw.encode("utf-8"), source="quarantined record").getroot()
    except (GatewayError, ValueError):
        return None
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = str(element.tag).rpartition("}")[2]
        if element.text and element.text.strip():
            read.values.add(element.text.strip())
            if _KEY_NAME.search(local):
                read.key_values.add(element.text.strip())
        for attribute, value in element.attrib.items():
            read.values.add(str(value).strip())
            if _KEY_NAME.search(str(attribute).rpartition("}")[2]):
                read.key_values.add(str(value).strip())
        system, key = element.get("system"), element.get("key")
        if system is not None and key is not None:
            read.pairs.add((system, key))
    return read


def _text_holds(raw: str, source_system: str, subject: DataSubject) -> bool:
    """For a record that cannot be parsed: the subject's e-mail addresses and phone numbers as
    whole words, and their keys in this system as a key attribute or a long enough word."""
    lowered = raw.lower()
    if any(re.search(_WORD_EDGE.format(re.escape(e)), lowered) for e in subject.emails):
        return True
    for system, key in subject.keys:
        if system != source_system:
            continue
        quoted = re.escape(key)
        if re.search(rf"""\bkey\s*=\s*["']{quoted}["']""", raw) or (
            len(key) >= _MIN_KEY_WORD and re.search(_WORD_EDGE.format(quoted), raw)
        ):
            return True
    squeezed = re.sub(r"[\s()./-]", "", raw)
    return any(re.search(rf"(?<!\d){p}(?!\d)", squeezed) for p in subject.phones)


def _is_phone_of(value: str, subject: DataSubject) -> bool:
    if not subject.phones or not _PHONE_LIKE.match(value):
        return False
    digits = _digits(value)
    if len(digits) < _MIN_PHONE_DIGITS:
        return False
    if digits in subject.phones:
        return True
    national = digits.lstrip("0")  # dialled at home: 030 1234567 for +49 30 1234567
    return (
        digits.startswith("0") and len(national) >= _MIN_PHONE_DIGITS
        and any(p.endswith(national) for p in subject.phones)
    )


def _digits(value: object) -> str:
    return re.sub(r"\D", "", value) if isinstance(value, str) else ""


def _items(document: object, name: str) -> list[dict[str, Any]]:
    items = document.get(name) if isinstance(document, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _walk(data: object, name: str) -> Iterator[tuple[str, object]]:
    """Every node of a JSON value with the name of the field it is in."""
    yield name, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk(value, str(key))
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value, name)
