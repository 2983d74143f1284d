"""The project's one hardened XML parser: every XML read in the gateway goes through here.

lxml (>= 6.1.3) with entity substitution off, no DTD loading, no network and ``huge_tree`` off.
A document that carries any DOCTYPE is refused (no legitimate CPEX message needs one, and it is the
carrier of every entity attack); XInclude is never processed and an XInclude element is refused
by name. Size and nesting depth are bounded by :class:`XMLLimits` (from config). Parsers are kept
per thread: lxml parser objects must not be shared between threads.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

from lxml import etree

from gateway.errors import XMLError, XMLLimitError, XMLSecurityError, XMLSyntaxError

XINCLUDE_NS = "http://www.w3.org/2001/XInclude"

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_blank_text": False,
    "collect_ids": False,
}


@dataclass(frozen=True, slots=True)
class XMLLimits:
    """Bounds on what the parser accepts (configured under ``[xml]``)."""

    max_bytes: int = 10 * 1024 * 1024
    max_depth: int = 64


DEFAULT_LIMITS = XMLLimits()

_local = threading.local()


def make_parser(resolver: etree.Resolver | None = None) -> etree.XMLParser:
    """A new hardened parser. Only :mod:`gateway.xml` modules should need to call this."""
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    if resolver is not None:
        parser.resolvers.add(resolver)
    return parser


def _thread_parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = make_parser()
    return parser


def parse_bytes(
    data: bytes, *, source: str = "<bytes>", limits: XMLLimits = DEFAULT_LIMITS
) -> etree._ElementTree:
    """Parse a whole document held in memory, or raise an :class:`~gateway.errors.XMLError`."""
    if len(data) > limits.max_bytes:
        raise XMLLimitError(
            f"document is {len(data)} bytes, over the limit of {limits.max_bytes} bytes",
            source=source,
        )
    _refuse_doctype_in_prolog(data, source)
    try:
        root: etree._Element = etree.fromstring(data, _thread_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, source) from exc
    tree = root.getroottree()
    check_tree(tree, source=source, limits=limits)
    return tree


def parse_file(
    path: str | os.PathLike[str], *, limits: XMLLimits = DEFAULT_LIMITS
) -> etree._ElementTree:
    """Parse a file, refusing it by size before reading it."""
    name = str(path)
    size = Path(path).stat().st_size
    if size > limits.max_bytes:
        raise XMLLimitError(
            f"document is {size} bytes, over the limit of {limits.max_bytes} bytes", source=name
        )
    with open(path, "rb") as fh:
        data = read_limited(fh, limits.max_bytes, source=name)
    return parse_bytes(data, source=name, limits=limits)


def read_limited(stream: IO[bytes], limit: int, *, source: str = "<stream>") -> bytes:
    """Read a stream to its end, but never more than ``limit`` bytes (limit + 1 means too large).

    This is what bounds a chunked HTTP body, which a Content-Length check cannot.
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise XMLLimitError(f"document is over the limit of {limit} bytes", source=source)
    return data


def check_tree(tree: etree._ElementTree, *, source: str, limits: XMLLimits) -> None:
    """The checks every parsed document passes: no DOCTYPE, no XInclude, depth within limits."""
    _refuse_doctype(tree, source)
    check_element(tree.getroot(), source=source, limits=limits)


def check_element(element: etree._Element, *, source: str, limits: XMLLimits) -> None:
    """No XInclude inside ``element``, and no nesting below it deeper than the limit.

    Both checks are one compiled XPath each, so they run in C, not per element in Python.
    """
    include = cast("list[etree._Element]", _find_xinclude(element))
    if include:
        raise XMLSecurityError(
            "XInclude is not processed and not allowed (element xi:include)",
            source=source,
            line=line_of(include[0]),
        )
    if _deeper_than(limits.max_depth)(element):
        raise XMLLimitError(
            f"elements nest deeper than the limit of {limits.max_depth}",
            source=source,
            line=line_of(element),
        )


def line_of(element: etree._Element) -> int | None:
    """The element's line in its document, if libxml2 recorded one."""
    line = element.sourceline
    return line if isinstance(line, int) else None


def iter_records(
    source: str | os.PathLike[str] | IO[bytes],
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
    name = source_name or (str(source) if isinstance(source, (str, os.PathLike)) else "<stream>")
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield from _iter_stream(stream, tag, limits, name)
    else:
        yield from _iter_stream(source, tag, limits, name)


def _iter_stream(
    stream: IO[bytes], tag: str, limits: XMLLimits, name: str
) -> Iterator[etree._Element]:
    head = stream.read(_PROLOG_SCAN_BYTES)
    _refuse_doctype_in_prolog(head, name)
    events = etree.iterparse(
        _Rejoined(head, stream), events=("end",), tag=tag, **_PARSER_OPTIONS
    )
    checked = False
    try:
        for _, element in events:
            if not checked:
                _refuse_doctype(element.getroottree(), name)
                checked = True
            check_element(element, source=name, limits=limits)
            yield element
            element.clear(keep_tail=True)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, name) from exc


# What may stand before the root element: white space, the XML declaration, processing
# instructions and comments. A DOCTYPE there is refused before libxml2 ever reads it.
_PROLOG_DOCTYPE = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*<!DOCTYPE", re.DOTALL)
_PROLOG_SCAN_BYTES = 64 * 1024


def _refuse_doctype_in_prolog(data: bytes, source: str) -> None:
    """Refuse a DOCTYPE by a scan of the prolog, so no DTD is handed to the parser at all.

    The scan reads ASCII-compatible encodings as Latin-1 and UTF-16 by its BOM or its first
    bytes; anything else is still caught after parsing by :func:`_refuse_doctype`.
    """
    head = data[:_PROLOG_SCAN_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):
        encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else (
            "utf-16-le" if head.startswith(b"<\x00") else "utf-16-be"
        )
        text = head[: len(head) // 2 * 2].decode(encoding, errors="replace")
    else:
        text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    if _PROLOG_DOCTYPE.match(text):
        line = text[: text.index("<!DOCTYPE")].count("\n") + 1
        raise XMLSecurityError(
            "a DOCTYPE is not allowed (DTDs and entities are refused)", source=source, line=line
        )


class _Rejoined(io.RawIOBase):
    """A stream whose first bytes were already read (for the prolog scan), put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = (self._head, b"") if size < 0 else (
                self._head[:size], self._head[size:]
            )
            return chunk
        return self._rest.read(size)


def _refuse_doctype(tree: etree._ElementTree, source: str) -> None:
    info: Any = tree.docinfo  # lxml-stubs lack DocInfo.doctype
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise XMLSecurityError(
            "a DOCTYPE is not allowed (DTDs and entities are refused: "
            f"{info.doctype or 'DTD declaration'})",
            source=source,
            line=1,
        )


_find_xinclude = etree.XPath(f"descendant-or-self::*[namespace-uri() = '{XINCLUDE_NS}'][1]")


@lru_cache(maxsize=8)
def _deeper_than(max_depth: int) -> etree.XPath:
    """XPath that is true when an element lies more than ``max_depth`` levels below the context."""
    return etree.XPath("boolean(" + "/".join(["*"] * max_depth) + ")")


def _syntax_error(exc: etree.XMLSyntaxError, source: str) -> XMLError:
    line, column = exc.position if exc.position else (exc.lineno, None)
    message = exc.msg or str(exc)
    lowered = message.lower()
    if any(word in lowered for word in ("entity", "doctype", "dtd", "subset")):
        return XMLSecurityError(f"refused: {message}", source=source, line=line, column=column)
    if "depth" in lowered or "huge" in lowered:
        return XMLLimitError(message, source=source, line=line, column=column)
    return XMLSyntaxError(message, source=source, line=line, column=column)
