"""The project's one hardened XML parser: every XML read in the gateway goes through here.

lxml (>= 6.1.3) with entity substitution off, no DTD loading, no network and ``huge_tree`` off.
A document that carries any DOCTYPE is refused (no legitimate CPEX message needs one, and it is the
carrier of every entity attack), in two independent ways:

- the prolog is scanned to its end before parsing (:mod:`gateway.xml.prolog`), so a DOCTYPE is
  refused before libxml2 reads it, wherever in the prolog it stands;
- every parser carries a resolver that refuses every external load libxml2 asks for (DTD,
  external general or parameter entity): lxml's options alone still let libxml2 open a local
  file named by an external parameter entity (measured with lxml 6.2 / libxml2 2.14: a file
  opened, ``/dev/zero`` read forever). So nothing outside the document is ever opened.

XInclude is never processed and an XInclude element is refused by name. Size, nesting depth,
namespaces in scope and attributes per element are bounded by :class:`XMLLimits` (from config):
the validator's cost per element grows with the namespaces in scope, so 80,000 declarations on a
root element made one 2 MB request cost 45 s of CPU. Parsers are kept per thread: lxml parser
objects must not be shared between threads.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

from lxml import etree

from gateway.errors import XMLError, XMLLimitError, XMLSecurityError, XMLSyntaxError
from gateway.xml.prolog import DOCTYPE_REFUSED, check_prolog, markup_codec

XINCLUDE_NS = "http://www.w3.org/2001/XInclude"

PARSER_OPTIONS: dict[str, Any] = {
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
    max_namespaces: int = 64  # namespaces in scope at any element (so declared on one, too)
    max_attributes: int = 256  # attributes on one element


DEFAULT_LIMITS = XMLLimits()

_local = threading.local()


class NoExternalLoads(etree.Resolver):
    """Refuses every external resource libxml2 asks for (DTDs, external entities), except what
    the one ``allowed`` resolver answers (the schema registry's, for files of the schemas
    folder). One resolver per parser: lxml keeps a parser's resolvers in a set, in no order."""

    def __init__(self, allowed: etree.Resolver | None = None) -> None:
        super().__init__()
        self._allowed = allowed

    def resolve(  # type: ignore[override]  # lxml passes a context the stubs leave out
        self, system_url: str, public_id: str, context: Any
    ) -> Any:
        if self._allowed is not None:
            found = self._allowed.resolve(system_url, public_id, context)  # type: ignore[call-arg]
            if found is not None:
                return found
        raise XMLSecurityError(DOCTYPE_REFUSED)


def make_parser(resolver: etree.Resolver | None = None) -> etree.XMLParser:
    """A new hardened parser. Only :mod:`gateway.xml` modules should need to call this."""
    parser = etree.XMLParser(**PARSER_OPTIONS)
    parser.resolvers.add(NoExternalLoads(resolver))
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
    check_prolog(data, source=source)
    try:
        root: etree._Element = etree.fromstring(data, _thread_parser())
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, source) from exc
    except XMLSecurityError as exc:  # raised by NoExternalLoads, which knows no source
        raise XMLSecurityError(exc.reason, source=source, line=1) from None
    tree = root.getroottree()
    check_tree(tree, source=source, limits=limits)
    check_shape(root, MarkupCounts.of(data, source=source), source=source, limits=limits)
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
    refuse_doctype(tree, source)
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


class MarkupCounts:
    """Upper bounds, counted in the raw bytes, for what :func:`check_shape` looks for: every
    namespace declaration spells ``xmlns``, every attribute an ``=``. Counting is C speed; the
    elements are walked only when a count passes its limit. Fed chunk by chunk for streams."""

    def __init__(self, codec: str) -> None:
        self._patterns = ("xmlns".encode(codec), "=".encode(codec))
        self._tails = [b"", b""]
        self.declarations = 0
        self.equals = 0

    @classmethod
    def of(cls, data: bytes, *, source: str) -> MarkupCounts:
        counts = cls(markup_codec(data, source=source))
        counts.feed(data)
        return counts

    def feed(self, chunk: bytes) -> None:
        # A pattern cut by a chunk boundary is found in the kept tail plus the new chunk; each
        # tail is shorter than its pattern, so nothing is counted twice.
        found = []
        for i, pattern in enumerate(self._patterns):
            data = self._tails[i] + chunk
            found.append(data.count(pattern))
            self._tails[i] = data[max(0, len(data) - len(pattern) + 1) :]
        self.declarations += found[0]
        self.equals += found[1]


def check_shape(
    element: etree._Element, counts: MarkupCounts, *, source: str, limits: XMLLimits
) -> None:
    """No element in ``element`` (itself included) has more namespaces in scope or more
    attributes than the limits allow.

    The namespaces in scope of an element include those declared on its ancestors, so a record
    streamed from a document whose root declares thousands is refused at once.
    """
    walk_namespaces = counts.declarations > limits.max_namespaces
    walk_attributes = counts.equals > limits.max_attributes
    if not (walk_namespaces or walk_attributes):
        return
    for node in element.iter(etree.Element):
        if walk_attributes and len(node.attrib) > limits.max_attributes:
            raise XMLLimitError(
                f"element {etree.QName(node).localname} has {len(node.attrib)} attributes, over "
                f"the limit of {limits.max_attributes}",
                source=source,
                line=line_of(node),
            )
        if walk_namespaces and len(node.nsmap) > limits.max_namespaces:
            raise XMLLimitError(
                f"element {etree.QName(node).localname} has {len(node.nsmap)} namespaces in "
                f"scope, over the limit of {limits.max_namespaces}",
                source=source,
                line=line_of(node),
            )


def line_of(element: etree._Element) -> int | None:
    """The element's line in its document, if libxml2 recorded one."""
    line = element.sourceline
    return line if isinstance(line, int) else None


def refuse_doctype(tree: etree._ElementTree, source: str) -> None:
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


def syntax_error(exc: etree.XMLSyntaxError, source: str) -> XMLError:
    line, column = exc.position if exc.position else (exc.lineno, None)
    message = exc.msg or str(exc)
    lowered = message.lower()
    if any(word in lowered for word in ("entity", "doctype", "dtd", "subset")):
        return XMLSecurityError(f"refused: {message}", source=source, line=line, column=column)
    if "depth" in lowered or "huge" in lowered:
        return XMLLimitError(message, source=source, line=line, column=column)
    return XMLSyntaxError(message, source=source, line=line, column=column)
