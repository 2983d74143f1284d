"""The XML source reader: XPath 1.0 paths over a record element, compiled once.

Every path is compiled and probed as ``etree.XPath`` when the mapping is compiled (so a bad
expression or an undeclared prefix is a check error with its line). At run time the common
*simple* paths — child steps with prefixes (``c:Addresses/c:Address``), optionally ending in
``@attr`` or ``text()`` — do not go through XPath: each context element (the record, or an item
a group found) is indexed once, its child elements by tag, and every field that reads from it
looks its tag up there. An XPath call costs about 1.5 µs; an index lookup a tenth of that.
Any other path (predicates, axes, functions) runs as XPath.

The fields of a group that read one step down (``c:City``, ``@type``, ``.``) and take the text
as it is are read together by one :meth:`XmlReader.batch` function — one index, one loop, no
call per field — which is what lets a mapping with fifty fields keep up with the streaming
parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.mapping.spec import Arg, SourceSpec
from gateway.mapping.values import Getter
from gateway.xml.parser import XMLLimits, parse_bytes, parse_file

_NAME = r"[A-Za-z_][\w.-]*"
_SIMPLE = re.compile(
    rf"^(?P<steps>(?:{_NAME}:)?{_NAME}(?:/(?:{_NAME}:)?{_NAME})*)?"
    rf"(?:(?(steps)/)(?:@(?P<attr>{_NAME})|(?P<text>text\(\))))?$"
)


class XmlContext:
    """An element being read (the record, or an item a group's path found) and its child
    elements by Clark tag, in document order: one pass over the children, shared by every
    field that reads from this element. Only records and group items are contexts; what their
    paths find are plain lxml elements."""

    __slots__ = ("element", "index")

    def __init__(self, element: etree._Element) -> None:
        self.element = element
        index: dict[str, list[etree._Element]] = {}
        for child in element:
            tag = child.tag
            if tag.__class__ is not str:  # a comment or processing instruction
                continue
            found = index.get(tag)
            if found is None:
                index[tag] = [child]
            else:
                found.append(child)
        self.index = index


_NONE: list[etree._Element] = []


class XmlReader:
    """Paths relative to the record element (or to the element a group's path found)."""

    def __init__(self, spec: SourceSpec) -> None:
        self.namespaces = dict(spec.namespaces)
        self.record_tag = _clark(spec.record, self.namespaces) if spec.record else None
        # the getters of simple one-step paths, for batch(): getter -> (tag, attr, many)
        self._one_step: dict[Getter, tuple[str | None, str | None, bool]] = {}

    def _compile(self, path: Arg) -> etree.XPath:
        try:
            xpath = etree.XPath(path.value, namespaces=self.namespaces, smart_strings=False)
            xpath(etree.Element("probe"))  # undefined prefixes only show when evaluated
        except etree.XPathError as exc:
            raise path.pos.error(f"bad XPath '{path.value}': {exc}") from exc
        return xpath

    def _simple(self, path: Arg) -> tuple[tuple[str, ...], str | None, bool] | None:
        """For a simple path: its child steps as Clark tags, the attribute to read (None: the
        text) and whether it ends in text(); None for any other path."""
        match = _SIMPLE.match(path.value)
        if match is None or not (match["steps"] or match["attr"] or match["text"]):
            return None
        tags = tuple(
            _clark(Arg(step, path.pos), self.namespaces)
            for step in (match["steps"].split("/") if match["steps"] else ())
        )
        return tags, match["attr"], bool(match["text"])

    def value(self, path: Arg, scope: Any, *, many: bool) -> Getter:
        """The text of the first match, or (many) the texts of every match."""
        if path.value == ".":
            if many:
                return lambda c: [c.element.text]
            return self._remember(_first_getter((), None), (), None, many=False)
        xpath = self._compile(path)
        simple = self._simple(path)
        if simple is None:
            if many:
                return lambda c: _texts(xpath(c.element))
            first = self._compile(Arg(f"string({path.value})", path.pos))
            return lambda c: first(c.element)
        tags, attr, _ = simple
        if not many:
            return self._remember(_first_getter(tags, attr), tags, attr, many=False)
        walk = _elements(tags)
        if attr is None:
            get: Getter = lambda c: [e.text for e in walk(c)]  # noqa: E731
        else:
            get = lambda c: [e.get(attr) for e in walk(c)]  # noqa: E731
        return self._remember(get, tags, attr, many=True)

    def _remember(self, get: Getter, tags: tuple[str, ...], attr: str | None, *,
                  many: bool) -> Getter:
        """Note a getter that reads the context element itself or one child step, for
        :meth:`batch`."""
        if len(tags) == 1 or (not tags and not many):
            self._one_step[get] = (tags[0] if tags else None, attr, many)
        return get

    def batch(self, fields: Sequence[tuple[Any, Getter | None, bool]]
              ) -> tuple[Batch | None, tuple[int, ...]]:
        """One function that reads several plain fields of a context into a node at once.

        ``fields`` are (key, getter, many) for fields that take their source's text as it is
        (no transforms) into one key of their own. Those whose path reads the context element
        (``.``, ``@attr``) or one child step (``c:City``, ``c:Line`` for a list,
        ``c:Tag/@attr``) are read with one index and one loop, blanks left out as the field
        plans would; returns the function (None if no field qualifies) and the positions of
        the fields it covers.
        """
        own_text: list[str] = []
        own_attrs: list[tuple[str, str]] = []
        first: list[tuple[str, str, str | None]] = []
        every: list[tuple[str, str, str | None]] = []
        covered: list[int] = []
        for position, (key, get, wanted_many) in enumerate(fields):
            simple = self._one_step.get(get) if get is not None else None
            if simple is None or simple[2] != wanted_many:
                continue
            tag, attr, many = simple
            if tag is None:
                own_text.append(key) if attr is None else own_attrs.append((key, attr))
            else:
                (every if many else first).append((key, tag, attr))
            covered.append(position)
        if not covered:
            return None, ()
        return _batch(own_text, own_attrs, first, every), tuple(covered)

    def group(self, path: Arg, scope: Any) -> tuple[Getter, Any]:
        xpath = self._compile(path)
        simple = self._simple(path)
        if simple is not None and simple[0] and simple[1] is None and not simple[2]:
            return _items(simple[0]), None

        def get(context: XmlContext) -> list[XmlContext]:
            found = xpath(context.element)
            if not isinstance(found, list):
                return []
            return [XmlContext(item) for item in found if isinstance(item, etree._Element)]

        return get, None

    def prepare(self, record: Any) -> XmlContext:
        if isinstance(record, etree._ElementTree):
            record = record.getroot()
        if not isinstance(record, etree._Element):
            raise TypeError(f"an xml mapping maps lxml elements, not {type(record).__name__}")
        return XmlContext(record)

    def read_sample(self, path: Path) -> list[Any]:
        return self._records(parse_file(path).getroot())

    def read_bytes(self, data: bytes, limits: XMLLimits | None = None) -> list[Any]:
        """The record elements of a document, read by the hardened parser within ``limits``."""
        tree = parse_bytes(data, source="the document", limits=limits) if limits is not None \
            else parse_bytes(data, source="the document")
        return self._records(tree.getroot())

    def _records(self, root: etree._Element) -> list[Any]:
        if self.record_tag is None or root.tag == self.record_tag:
            return [root]
        return list(root.iter(self.record_tag))


#: Reads several fields of a context into a node: (context, node) -> None.
Batch = Callable[[XmlContext, dict[Any, Any]], None]


def _batch(own_text: list[str], own_attrs: list[tuple[str, str]],
           first: list[tuple[str, str, str | None]],
           every: list[tuple[str, str, str | None]]) -> Batch:
    """The batch function of :meth:`XmlReader.batch`: the fields' plans in one loop each.

    A blank text (None, empty, white space) leaves its key out, as ``FieldPlan.settle`` does.
    """
    own_text_keys = tuple(own_text)
    own_attr_keys = tuple(own_attrs)
    first_texts = tuple((key, tag) for key, tag, attr in first if attr is None)
    first_attrs = tuple((key, tag, attr) for key, tag, attr in first if attr is not None)
    every_steps = tuple(every)
    indexed = bool(first or every)

    def fill(context: XmlContext, node: dict[Any, Any]) -> None:
        text: str | None
        element = context.element
        for key in own_text_keys:
            text = element.text
            if text and not text.isspace():
                node[key] = text
        for key, attr in own_attr_keys:
            text = element.get(attr)
            if text and not text.isspace():
                node[key] = text
        if not indexed:
            return
        index = context.index
        for key, tag in first_texts:
            found = index.get(tag)
            if found is not None:
                text = found[0].text
                if text and not text.isspace():
                    node[key] = text
        for key, tag, attr in first_attrs:
            found = index.get(tag)
            if found is not None:
                text = found[0].get(attr)
                if text and not text.isspace():
                    node[key] = text
        for key, tag, name in every_steps:
            found = index.get(tag)
            if found is not None:
                texts = [e.text if name is None else e.get(name) for e in found]
                kept = [t for t in texts if t and not t.isspace()]
                if kept:
                    node[key] = kept

    return fill


def _items(tags: tuple[str, ...]) -> Callable[[XmlContext], list[XmlContext]]:
    """Context -> the contexts of the elements at the end of a chain of child steps."""
    first, rest = tags[0], tags[1:]

    def items(context: XmlContext) -> list[XmlContext]:
        found = context.index.get(first)
        if found is None:
            return _NO_ITEMS
        for tag in rest:
            found = _step(found, tag)
        return list(map(XmlContext, found))

    return items


_NO_ITEMS: list[XmlContext] = []


def _step(elements: list[etree._Element], tag: str) -> list[etree._Element]:
    """The children with ``tag`` of some elements (a step past the context's index: usually
    a wrapper such as ``c:Addresses``, whose few children a loop filters faster than
    ``iterchildren(tag)``, which parses its tag argument on every call)."""
    return [child for element in elements for child in element if child.tag == tag]


def _elements(tags: tuple[str, ...]) -> Callable[[XmlContext], list[etree._Element]]:
    """Context -> the elements at the end of a chain of child steps: the first step from the
    context's index, the others by :func:`_step`."""
    if not tags:
        return lambda context: [context.element]
    first, rest = tags[0], tags[1:]
    if not rest:
        return lambda context: context.index.get(first, _NONE)

    def walk(context: XmlContext) -> list[etree._Element]:
        current = context.index.get(first, _NONE)
        for tag in rest:
            current = _step(current, tag)
        return current

    return walk


def _first_getter(tags: tuple[str, ...], attr: str | None) -> Getter:
    """The text (or attribute) of the first match; the common shapes as one small closure."""
    if not tags:
        if attr is None:
            return lambda context: context.element.text
        return lambda context: context.element.get(attr)
    if len(tags) == 1:
        (tag,) = tags

        def one_step(context: XmlContext) -> Any:
            found = context.index.get(tag)
            if not found:
                return None
            return found[0].text if attr is None else found[0].get(attr)

        return one_step
    walk = _elements(tags)

    def first_match(context: XmlContext) -> Any:
        for found in walk(context):
            return found.text if attr is None else found.get(attr)
        return None

    return first_match


def _texts(found: Any) -> list[Any]:
    if not isinstance(found, list):
        return [found]
    return [item.text if isinstance(item, etree._Element) else item for item in found]


def _clark(name: Arg, namespaces: dict[str, str]) -> str:
    prefix, _, local = name.value.rpartition(":")
    if prefix and prefix not in namespaces:
        raise name.pos.error(f"the prefix '{prefix}' is not declared in source.namespaces")
    return f"{{{namespaces[prefix]}}}{local}" if prefix else local
