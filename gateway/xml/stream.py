"""Streaming reads of documents too large to hold: the records one at a time, or the skeleton.

Both read through the hardened parser's setup (:mod:`gateway.xml.parser`): the prolog checked
before parsing, no external loads, and every record checked (XInclude, depth, namespaces,
attributes) as it is read. Memory stays constant: records are cleared behind the reader, and
content outside the records may not run on past ``max_bytes`` without a record ending.

:func:`iter_records` feeds the import; :func:`read_skeleton` lets the import check the whole
document first: what is left once every run of records is cut down to one empty record element
(the envelope, its header, anything else a file holds) is small and validated whole.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from lxml import etree

from gateway.errors import XMLLimitError, XMLSecurityError
from gateway.xml.parser import (
    DEFAULT_LIMITS,
    PARSER_OPTIONS,
    MarkupCounts,
    NoExternalLoads,
    XMLLimits,
    check_element,
    check_shape,
    refuse_doctype,
    syntax_error,
)
from gateway.xml.prolog import markup_codec, read_prolog

Source = str | os.PathLike[str] | IO[bytes]


def iter_records(
    source: Source,
    tag: str,
    *,
    limits: XMLLimits = DEFAULT_LIMITS,
    source_name: str | None = None,
) -> Iterator[etree._Element]:
    """Stream the ``tag`` elements of a large document, one at a time, in constant memory.

    Each yielded element is complete; once the caller moves on it is cleared and its earlier
    siblings deleted. The size limit does not apply to streams (that is their point); the depth
    limit applies to each record, the DOCTYPE ban to the document.
    """
    with _opened(source, source_name) as (stream, name):
        records = _Records(stream, tag, limits, name)
        for element in records:
            yield element
            element.clear(keep_tail=True)  # type: ignore[call-arg]  # stubs lack keep_tail
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]


def read_skeleton(
    source: Source,
    tag: str,
    *,
    limits: XMLLimits = DEFAULT_LIMITS,
    source_name: str | None = None,
) -> etree._Element:
    """The whole document with each run of ``tag`` records cut down to one empty ``tag``
    element, every record checked on the way; the skeleton itself passes the same checks.

    A schema then validates the skeleton, ignoring what it says of the empty records (the
    records are validated one by one when they are imported).
    """
    with _opened(source, source_name) as (stream, name):
        records = _Records(stream, tag, limits, name)
        for element in records:
            element.clear(keep_tail=True)  # type: ignore[call-arg]  # stubs lack keep_tail
            before, parent = element.getprevious(), element.getparent()
            if before is not None and parent is not None and is_placeholder(before, tag):
                parent.remove(before)
        root = records.root
        if root is None:  # pragma: no cover - iterparse raises on an empty document
            raise XMLLimitError("the document has no root element", source=name)
        check_element(root, source=name, limits=limits)
        check_shape(root, records.counts, source=name, limits=limits)
        return root


def is_placeholder(element: etree._Element, tag: str) -> bool:
    """True for a record element of a skeleton (emptied by :func:`read_skeleton`)."""
    return element.tag == tag and len(element) == 0 and not element.attrib and not element.text


@contextmanager
def _opened(source: Source, source_name: str | None) -> Iterator[tuple[IO[bytes], str]]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield stream, source_name or str(source)
    else:
        yield source, source_name or "<stream>"


class _Records:
    """The checked ``tag`` elements of a stream, as the hardened parser reads them."""

    def __init__(self, stream: IO[bytes], tag: str, limits: XMLLimits, name: str) -> None:
        self._name = name
        self._limits = limits
        head = read_prolog(stream, source=name, limit=limits.max_bytes)
        self._source = _Counted(
            head, stream, MarkupCounts(markup_codec(head, source=name)), limits.max_bytes, name
        )
        self._events = etree.iterparse(self._source, events=("end",), tag=tag, **PARSER_OPTIONS)
        self._events.resolvers.add(NoExternalLoads())

    @property
    def root(self) -> etree._Element | None:
        root: etree._Element | None = self._events.root
        return root

    @property
    def counts(self) -> MarkupCounts:
        return self._source.counts

    def __iter__(self) -> Iterator[etree._Element]:
        name, limits = self._name, self._limits
        checked = False
        try:
            for _, element in self._events:
                if not checked:
                    refuse_doctype(element.getroottree(), name)
                    checked = True
                check_element(element, source=name, limits=limits)
                check_shape(element, self.counts, source=name, limits=limits)
                self._source.record_ended()
                yield element
            if self._events.root is not None and not checked:
                refuse_doctype(self._events.root.getroottree(), name)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, name) from exc
        except XMLSecurityError as exc:
            if exc.source is not None:
                raise
            raise XMLSecurityError(exc.reason, source=name, line=1) from None


class _Counted(io.RawIOBase):
    """The stream behind the prolog already read (put back in front), with its markup counted
    as the parser reads it, and at most ``span`` bytes read between two records' ends."""

    def __init__(
        self, head: bytes, rest: IO[bytes], counts: MarkupCounts, span: int, name: str
    ) -> None:
        self._head = head
        self._rest = rest
        self._span = span
        self._name = name
        self._since_record = 0
        self.counts = counts

    def readable(self) -> bool:
        return True

    def record_ended(self) -> None:
        self._since_record = 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = (
                (self._head, b"") if size < 0 else (self._head[:size], self._head[size:])
            )
        else:
            chunk = self._rest.read(size)
        self.counts.feed(chunk)
        self._since_record += len(chunk)
        if self._since_record > self._span:
            raise XMLLimitError(
                f"over {self._span} bytes read without a record ending (a record, or the "
                "content between records, is over the limit)",
                source=self._name,
            )
        return chunk
