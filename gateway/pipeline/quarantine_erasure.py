"""Erasure reaches the quarantine: the entries that hold an erased person's data go with them.

:func:`erase_quarantined`, called by :func:`gateway.delivery.rights.erase_in_transaction` in the
erasure's transaction, deletes every entry, of any status, that holds the erased person's data.
A refused record never became part of the person's profile, so the link is found in the raw
record itself: the person's golden ids (a retried entry records one), a source key of the
entry's own source system (or any system + key pair written as one, as CPEX identifiers are),
an e-mail address (without case) or a phone number (E.164, or dialled as a national number)
held as a whole value, attribute or JSON string, in every format the quarantine keeps: CPEX
or partner XML, JSON profiles, and CSV or SQL rows (``row``: a JSON object of the columns).
Entries are deleted, not kept as tombstones: their errors and line numbers describe the record
too, and the erasure's audit row keeps the count. Candidates are narrowed in SQL (``LIKE`` on
the raw text) and then confirmed by parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select

from gateway.errors import GatewayError
from gateway.pipeline.stages import RecordFormat
from gateway.pipeline.tables import quarantine_record
from gateway.store.tables import golden_alias, golden_profile, identifier, source_record
from gateway.xml.parser import parse_bytes


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
        *conn.execute(
            select(golden_profile.c.document).where(golden_profile.c.id == golden_id)
        ).scalars(),
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
        select(q.id, q.source_system, q.format, q.raw, q.golden_id).where(or_(*_narrowing(subject)))
    ).all()
    doomed = [row.id for row in candidates if _holds(row, subject)]
    for start in range(0, len(doomed), 500):
        conn.execute(delete(quarantine_record).where(q.id.in_(doomed[start : start + 500])))
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


#: customer-id, id, Id, customer_ID, CustomerId, key, Key, customerKey, CUST_NO, customer_no,
#: KundenNr, kunden_nr
_KEY_NAME = re.compile(r"(?:^|[^A-Za-z])(?:id|Id|ID|no|No|NO|nr|Nr|NR)$|[a-z](?:Id|No|Nr)$|[Kk]ey")


def _read_values(raw: str, fmt: RecordFormat) -> _Values | None:
    """What a raw record holds (see :class:`_Values`); ``None`` when it cannot be read."""
    read = _Values(set(), set(), set())
    if fmt in ("json", "row"):  # a row (CSV or SQL) is kept as a JSON object of its columns
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
        digits.startswith("0")
        and len(national) >= _MIN_PHONE_DIGITS
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
