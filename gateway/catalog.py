"""The data dictionary: every canonical field with its data category, the mappings that write it
(inbound) and read it (outbound), and the partners that may receive it and for which purposes;
every partner with its schemas and mappings.

Built from the live mapping set and partner files each time (never a second hand-kept list), so
the effect of changing a field or a mapping is visible before it is made: "who receives this
field", "what feeds it". Shown by the console (``/console/catalog``) and ``cpex-gateway catalog``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.mapping import MappingSet
from gateway.mapping.spec import FieldSpec
from gateway.model import field_categories
from gateway.partners.registry import PartnerRegistry
from gateway.privacy.policy import IDENTIFIERS, DisclosurePolicy

_FILTER = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True, slots=True)
class Recipient:
    partner: str
    purposes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldEntry:
    path: str
    category: str
    written_by: tuple[str, ...]  # inbound mappings
    read_by: tuple[str, ...]  # outbound mappings
    received_by: tuple[Recipient, ...]  # partners whose policy allows it

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "category": self.category,
            "written_by": list(self.written_by),
            "read_by": list(self.read_by),
            "received_by": [
                {"partner": r.partner, "purposes": list(r.purposes)} for r in self.received_by
            ],
        }


@dataclass(frozen=True, slots=True)
class PartnerEntry:
    id: str
    name: str
    operations: tuple[str, ...]
    inbound_schema: str | None
    inbound_mapping: str | None
    outbound_schema: str | None
    outbound_mapping: str | None
    endpoint: str | None
    purposes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "operations": list(self.operations),
            "inbound": {"schema": self.inbound_schema, "mapping": self.inbound_mapping},
            "outbound": {
                "schema": self.outbound_schema,
                "mapping": self.outbound_mapping,
                "endpoint": self.endpoint,
            },
            "purposes": list(self.purposes),
        }


@dataclass(frozen=True, slots=True)
class Catalog:
    fields: tuple[FieldEntry, ...]
    partners: tuple[PartnerEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": [f.to_dict() for f in self.fields],
            "partners": [p.to_dict() for p in self.partners],
        }


def build_catalog(mappings: MappingSet, partners: PartnerRegistry) -> Catalog:
    written: dict[str, set[str]] = {}
    read: dict[str, set[str]] = {}
    for compiled in mappings:
        spec = compiled.spec
        if spec.direction == "inbound":
            paths = set(_inbound_paths(spec.fields, ""))
            table = written
        else:
            paths = set(_outbound_paths(spec.fields, ""))
            table = read
        for path in paths:
            table.setdefault(path, set()).add(compiled.name)
    policies = [(p.id, p.policy) for p in partners]
    entries = []
    for path, category in field_categories().items():
        entries.append(
            FieldEntry(
                path=path,
                category=str(category),
                written_by=_touching(path, written),
                read_by=_touching(path, read),
                received_by=tuple(
                    Recipient(pid, tuple(str(x) for x in policy.purposes))
                    for pid, policy in policies
                    if _receives(policy, path)
                ),
            )
        )
    return Catalog(tuple(entries), tuple(_partner(p) for p in partners))


def _receives(policy: DisclosurePolicy, path: str) -> bool:
    """Identifiers go by system (each partner sees the systems its file lists, by default its
    own), every other field by the policy's categories and fields."""
    if path == IDENTIFIERS:
        return bool(policy.identifier_systems)
    return policy.allows_field(path)


def _partner(p: Any) -> PartnerEntry:
    return PartnerEntry(
        id=p.id,
        name=p.name,
        operations=tuple(str(o) for o in p.operations),
        inbound_schema=p.inbound.schema_namespace if p.inbound else None,
        inbound_mapping=p.inbound.mapping if p.inbound else None,
        outbound_schema=p.outbound.schema_namespace if p.outbound else None,
        outbound_mapping=p.outbound.mapping if p.outbound else None,
        endpoint=p.outbound.endpoint.kind if p.outbound else None,
        purposes=tuple(str(x) for x in p.privacy.purposes),
    )


def _inbound_paths(fields: Iterable[FieldSpec], prefix: str) -> Iterator[str]:
    """Canonical paths an inbound mapping writes: its targets, groups joined by dots."""
    for f in fields:
        path = f"{prefix}{_FILTER.sub('', f.target)}"
        yield path
        if f.fields:
            yield from _inbound_paths(f.fields, path + ".")


def _outbound_paths(fields: Iterable[FieldSpec], prefix: str) -> Iterator[str]:
    """Canonical paths an outbound mapping reads: its sources (a group's fields read below the
    group's source), filters like ``[system=acme]`` left out."""
    for f in fields:
        sources = [str(a.value) for a in f.sources if isinstance(a.value, str)]
        for source in sources:
            yield f"{prefix}{_FILTER.sub('', source)}"
        if f.fields:
            inner = f"{prefix}{_FILTER.sub('', sources[0])}." if sources else prefix
            yield from _outbound_paths(f.fields, inner)


def _touching(path: str, table: dict[str, set[str]]) -> tuple[str, ...]:
    """The mappings whose paths are this field, inside it, or a whole that contains it."""
    names: set[str] = set()
    for other, owners in table.items():
        if other == path or other.startswith(path + ".") or path.startswith(other + "."):
            names |= owners
    return tuple(sorted(names))
