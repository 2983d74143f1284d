"""The golden profile computed from every source record linked to it.

Each field is chosen by its strategy (:class:`~gateway.identity.rules.IdentityRules`) among the
records that *have* a value for it, so an empty value never overwrites a filled one:

- ``most_recent``: the value of the record received last;
- ``priority``: the record whose source system comes first in ``source_priority`` (systems not
  listed come after, most recent first among equals);
- ``most_complete``: the value with the most filled leaves (most recent among equals);
- ``union`` (list fields): every distinct item, most recent record's first.

Fixed rules: ``identifiers`` are the union of all records' (most recent first); ``consents`` keep
the latest answer (by ``given``) per purpose and recipient, whichever source recorded it.

The result is the golden document plus its lineage: field path → the record it came from. It
works on the JSON documents (``to_dict`` form) so that recomputing needs no decoding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.identity.rules import (
    ORGANIZATION_FIELDS,
    PERSON_FIELDS,
    WHOLE_FIELDS,
    IdentityRules,
)


@dataclass(frozen=True, slots=True)
class LinkedRecord:
    """A source record as survivorship sees it."""

    source_system: str
    source_key: str
    received_at: datetime
    document: Mapping[str, Any]
    id: int | None = None  # ordering among records received at the same instant

    @property
    def ref(self) -> list[str]:
        """How lineage names the record: its key, stable across unmerges."""
        return [self.source_system, self.source_key]


Lineage = dict[str, list[str]]


# One encoder for every canonical form: ``json.dumps(..., sort_keys=True)`` builds a new
# encoder per call, which cost more than the encoding in a batch import.
_CANONICAL = json.JSONEncoder(sort_keys=True)
_GROUP_PATHS = tuple(
    (group, tuple((name, f"{group}.{name}") for name in names))
    for group, names in (("person", PERSON_FIELDS), ("organization", ORGANIZATION_FIELDS))
)


def build_golden(
    records: Sequence[LinkedRecord], rules: IdentityRules
) -> tuple[dict[str, Any], Lineage]:
    """The golden document and its lineage."""
    recent = sorted(records, key=_recency, reverse=True)
    document: dict[str, Any] = {}
    lineage: Lineage = {}

    identifiers, source = _union(recent, "identifiers")
    if identifiers:
        document["identifiers"], lineage["identifiers"] = identifiers, source

    for group, paths in _GROUP_PATHS:
        parts = [(part, r) for r in recent if (part := r.document.get(group))]
        if not parts:
            continue
        chosen: dict[str, Any] = {}
        for name, path in paths:
            filled = [(v, r) for part, r in parts if not _empty(v := part.get(name))]
            if filled:
                value, record = _choose(filled, rules, path)
                chosen[name], lineage[path] = value, record.ref
        if chosen:
            document[group] = chosen

    for name in WHOLE_FIELDS:
        if rules.strategy(name) == "union":
            items, source = _union(recent, name)
            if items:
                document[name], lineage[name] = items, source
            continue
        filled = [(v, r) for r in recent if not _empty(v := r.document.get(name))]
        if filled:
            value, record = _choose(filled, rules, name)
            document[name], lineage[name] = value, record.ref

    consents, source = _latest_consents(recent)
    if consents:
        document["consents"], lineage["consents"] = consents, source
    return document, lineage


def _recency(record: LinkedRecord) -> tuple[datetime, int]:
    return record.received_at, record.id if record.id is not None else 1 << 62


def _choose(
    filled: list[tuple[Any, LinkedRecord]], rules: IdentityRules, path: str
) -> tuple[Any, LinkedRecord]:
    """The surviving (value, record) for one field among the records that have a value, most
    recent first."""
    if len(filled) == 1:
        return filled[0]
    strategy = rules.strategy(path)
    if strategy == "priority":
        # ``min`` keeps the first (most recent) of equal priorities.
        return min(filled, key=lambda vr: rules.priority(vr[1].source_system))
    if strategy == "most_complete":
        return max(filled, key=lambda vr: _leaves(vr[0]))
    return filled[0]


def _union(recent: Sequence[LinkedRecord], name: str) -> tuple[list[Any], list[str]]:
    """Distinct items of every record, most recent first; lineage: the latest contributor."""
    seen: dict[str, Any] = {}
    source: list[str] = []
    for record in recent:
        for item in record.document.get(name) or ():
            if _empty(item):
                continue
            seen.setdefault(_identity(item), item)
            source = source or record.ref
    return list(seen.values()), source


_FLAT = (str, int, bool)


def _identity(item: Any) -> Any:
    """What makes two list items the same: their canonical JSON, or for the usual flat item
    (a dict of strings, ints and booleans) its sorted typed items, equal exactly when the JSON
    is, and several times cheaper to make."""
    if type(item) is dict and all(type(v) in _FLAT for v in item.values()):
        return tuple(sorted((k, type(v), v) for k, v in item.items()))
    return _CANONICAL.encode(item)


def _latest_consents(recent: Sequence[LinkedRecord]) -> tuple[list[Any], list[str]]:
    """Per (purpose, recipient), the consent given last; lineage: the record of the newest."""
    latest: dict[tuple[str, str], tuple[datetime, dict[str, Any], LinkedRecord]] = {}
    for record in recent:
        for consent in record.document.get("consents") or ():
            key = (consent["purpose"], consent["recipient"])
            given = datetime.fromisoformat(consent["given"])
            if key not in latest or given > latest[key][0]:
                latest[key] = (given, consent, record)
    if not latest:
        return [], []
    newest = max(latest.values(), key=lambda entry: entry[0])
    return [consent for _, consent, _ in latest.values()], newest[2].ref


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False


def _leaves(value: Any) -> int:
    """How many filled scalar values a JSON value holds."""
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_leaves(v) for v in value)
    return 0 if _empty(value) else 1
