""" "Every field lands somewhere": the leaves of a sample record against what its mapping reads.

A leaf is an element with text, or an attribute (XML); a non-empty cell (CSV); a scalar (JSON),
named by its path from the record with the namespace prefixes of the mapping. The mapping reads
a leaf when one of its source paths (joined with the paths of the groups around it), or one of
its operations' conditions, selects it. Selection is decided by XPath/column/key evaluation on
the sample itself, so predicates and unions count as what they select, nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from gateway.mapping.compiler import CompiledMapping
from gateway.mapping.spec import FieldSpec


def xml_leaves(record: etree._Element) -> set[etree._Element | tuple[etree._Element, str]]:
    """Elements with text and (element, attribute) pairs under a record."""
    found: set[Any] = set()
    for element in record.iter(etree.Element):
        found.update((element, name) for name in element.attrib)
        if element.text and element.text.strip():
            found.add(element)
    return found


def _xml_selected(mapping: CompiledMapping, record: etree._Element) -> set[Any]:
    ns = mapping.spec.source.namespaces
    selected: set[Any] = set()

    def select(contexts: list[etree._Element], path: str) -> list[Any]:
        out = []
        for context in contexts:
            if path == ".":
                out.append(context)
                continue
            result = context.xpath(path, namespaces=ns)
            for item in result if isinstance(result, list) else []:
                if isinstance(item, etree._Element):
                    out.append(item)
                elif getattr(item, "is_attribute", False):
                    out.append((item.getparent(), item.attrname))
        return out

    def walk(fields: tuple[FieldSpec, ...], contexts: list[etree._Element]) -> None:
        for spec in fields:
            for source in spec.sources:
                hits = select(contexts, source.value)
                selected.update(hits)
                # an element selected whole counts its text (the field reads its text)
                if spec.fields is not None:
                    walk(spec.fields, [h for h in hits if isinstance(h, etree._Element)])
            if spec.fields is not None and not spec.sources:
                walk(spec.fields, contexts)

    walk(mapping.spec.fields, [record])
    for rule in mapping.spec.operations:
        if rule.source is not None:
            selected.update(select([record], rule.source.value))
    return selected


def unread_xml(mapping: CompiledMapping, record: etree._Element) -> list[str]:
    """The leaves of ``record`` no field or rule of ``mapping`` reads, as readable paths."""
    selected = _xml_selected(mapping, record)
    unread = xml_leaves(record) - selected
    tree = record.getroottree()
    return sorted(_describe(tree, leaf) for leaf in unread)


def _describe(tree: etree._ElementTree, leaf: Any) -> str:
    """``customer[1]/profile/email`` (local names; namespaces left out for the reader)."""
    element, attribute = leaf if isinstance(leaf, tuple) else (leaf, None)
    path = re.sub(r"\{[^}]*\}", "", tree.getelementpath(element))
    return f"{path}/@{attribute}" if attribute else path


def unread_columns(mapping: CompiledMapping, rows: list[dict[str, Any]]) -> list[str]:
    """Columns with a value in some row that no field or rule reads."""
    read = {s.value for s in _all_sources(mapping.spec.fields)}
    read |= {r.source.value for r in mapping.spec.operations if r.source is not None}
    filled = {k for row in rows for k, v in row.items() if v not in (None, "")}
    return sorted(filled - read)


def json_leaves(value: Any, prefix: str = "") -> Iterator[str]:
    """Dotted key paths of the scalars in a JSON value (list items share their list's path)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_leaves(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for item in value:
            yield from json_leaves(item, prefix)
    elif value is not None and value != "":
        yield prefix.rstrip(".")


def _all_sources(fields: tuple[FieldSpec, ...]) -> Iterator[Any]:
    for spec in fields:
        yield from spec.sources
        if spec.fields is not None:
            yield from _all_sources(spec.fields)


def unread_json(mapping: CompiledMapping, record: dict[str, Any]) -> list[str]:
    """The leaf key paths of a JSON record no field, filter or rule of ``mapping`` reads."""
    read: set[str] = set()

    def resolve(prefix: list[str], path: str) -> list[str]:
        steps = list(prefix)
        if path == ".":
            return steps
        for part in path.split("."):
            if part == "":  # '..' split: climb
                continue
            name, _, rest = part.partition("[")
            if rest:
                read.add(
                    ".".join([*steps, rest.partition("=")[0]])
                    if name == "self"
                    else ".".join([*steps, name, rest.partition("=")[0]])
                )
            if name != "self":
                steps.append(name)
        return steps

    def walk(fields: tuple[FieldSpec, ...], prefix: list[str]) -> None:
        for spec in fields:
            for transform in spec.transforms:
                if "region_from" in transform.args:
                    read.add(".".join(resolve(prefix, str(transform.args["region_from"].value))))
            for source in spec.sources:
                where = resolve(prefix, source.value)
                read.add(".".join(where))
                if spec.fields is not None:
                    walk(spec.fields, where)
            if spec.fields is not None and not spec.sources:
                walk(spec.fields, prefix)

    walk(mapping.spec.fields, [])
    for rule in mapping.spec.operations:
        if rule.source is not None:
            read.add(".".join(resolve([], rule.source.value)))
    return sorted(set(json_leaves(record)) - read)
