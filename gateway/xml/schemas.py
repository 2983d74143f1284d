"""The schema registry: which XSD serves which namespace and version, compiled once per thread.

Schemas are found by scanning a folder (``schemas/`` by default) for ``*.xsd`` files and reading
each one's ``targetNamespace`` and ``version`` attribute. lxml's ``XMLSchema`` is the gatekeeper
(XSD 1.0, fast); a schema that declares ``vc:minVersion="1.1"`` is served by xmlschema's XSD 1.1
validator instead, since lxml cannot. Compiled schemas are kept per thread because a shared lxml
``XMLSchema`` resets its ``error_log`` on every call. Imports and includes inside a schema are
resolved only from the registry's folder: anything else is refused.

Issue messages name the element, attribute, facet or rule, the path and the line, never the
rejected value: both validators quote it (lxml: "The value 'john@@x' is not accepted by the
pattern ..."; xmlschema: "attribute key='...'", "duplicated value ('...',)"), and these messages
end up in per-record errors, quarantine rows, API answers and logs. :func:`redact_values`
replaces each quoted value with ``[redacted, N chars]``. The record itself is kept where it must
be (the quarantine, so it can be retried); messages are not the place for it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import xmlschema
from lxml import etree

from gateway.errors import (
    SchemaValidationError,
    UnknownSchemaError,
    ValidationIssue,
    XMLSecurityError,
)
from gateway.xml.parser import line_of, make_parser, parse_file

XSD_NS = "http://www.w3.org/2001/XMLSchema"
VERSIONING_NS = "http://www.w3.org/2007/XMLSchema-versioning"


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    namespace: str
    version: str
    path: Path
    xsd_version: str  # "1.0" or "1.1"

    @property
    def label(self) -> str:
        return f"{self.path.name} ({self.namespace} {self.version})"


#: Issues about an element this says True of are left out (a skeleton's emptied records).
Skip = Callable[[etree._Element], bool]


class Validator(Protocol):
    entry: SchemaEntry

    def issues(
        self, node: etree._Element | etree._ElementTree, skip: Skip | None = None
    ) -> list[ValidationIssue]: ...


class _FolderOnlyResolver(etree.Resolver):
    """Lets a schema import or include files from the schemas folder, and nothing else."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self._root = root.resolve()

    def resolve(  # type: ignore[override]  # lxml passes a context the stubs leave out
        self, system_url: str, public_id: str, context: Any
    ) -> Any:
        target = Path(system_url.removeprefix("file://")).resolve()
        if not target.is_relative_to(self._root) or not target.is_file():
            raise XMLSecurityError(
                f"schema import '{system_url}' is outside the schemas folder {self._root}"
            )
        # read here, handed over as bytes: libxml2 is never asked to open a file itself
        return self.resolve_string(target.read_bytes(), context, base_url=str(target))


class _LxmlValidator:
    def __init__(self, entry: SchemaEntry, schemas_dir: Path) -> None:
        self.entry = entry
        _check_locations(entry.path, schemas_dir.resolve(), set())
        parser = make_parser(_FolderOnlyResolver(schemas_dir))
        # hardened parser, only our own files; read here (the parser loads nothing by itself)
        doc = etree.fromstring(entry.path.read_bytes(), parser, base_url=str(entry.path))
        self._schema = etree.XMLSchema(doc.getroottree())

    def issues(
        self, node: etree._Element | etree._ElementTree, skip: Skip | None = None
    ) -> list[ValidationIssue]:
        if self._schema.validate(node):
            return []
        root = node.getroot() if isinstance(node, etree._ElementTree) else node
        issues = []
        for e in cast("Iterable[Any]", self._schema.error_log):
            element = _locate(root, e.path)
            if skip is not None and element is not None and skip(element):
                continue
            if e.path and not e.path.startswith("/*"):  # lxml named the steps with prefixes
                path: str | None = _PREFIX.sub("/", e.path)
            else:
                path = _readable_path(root, element) if element is not None else e.path
            issues.append(
                ValidationIssue(
                    line=e.line or None,
                    column=e.column or None,
                    path=path,
                    message=redact_values(e.message, element),
                )
            )
        return issues


class _Xsd11Validator:
    """XSD 1.1 (assertions, open content...), served by xmlschema. Off the hot path."""

    def __init__(self, entry: SchemaEntry, schemas_dir: Path) -> None:
        self.entry = entry
        self._schema = xmlschema.XMLSchema11(
            str(entry.path), allow="sandbox", defuse="always", base_url=str(schemas_dir)
        )

    def issues(
        self, node: etree._Element | etree._ElementTree, skip: Skip | None = None
    ) -> list[ValidationIssue]:
        root = node.getroot() if isinstance(node, etree._ElementTree) else node
        # ``str(err)`` would print the instance (the whole record): only the reason is used
        return [
            ValidationIssue(
                line=getattr(err.obj, "sourceline", None),
                column=None,
                path=err.path,
                message=redact_values(
                    err.reason or "not valid against the schema",
                    err.obj if isinstance(err.obj, etree._Element) else None,
                ),
            )
            for err in self._schema.iter_errors(root)
            if not (skip is not None and isinstance(err.obj, etree._Element) and skip(err.obj))
        ]


class SchemaRegistry:
    """Schemas by namespace and version, loaded from one folder."""

    def __init__(self, schemas_dir: str | Path) -> None:
        self.schemas_dir = Path(schemas_dir).resolve()
        self._entries: dict[tuple[str, str], SchemaEntry] = {}
        for path in sorted(self.schemas_dir.rglob("*.xsd")):
            entry = _read_entry(path)
            self._entries[(entry.namespace, entry.version)] = entry
        self._local = threading.local()

    @property
    def entries(self) -> list[SchemaEntry]:
        return list(self._entries.values())

    def entry(self, namespace: str | None, version: str | None = None) -> SchemaEntry:
        """The schema for a namespace: the given version, or the highest one registered."""
        if version is not None:
            found = self._entries.get((namespace or "", version))
            if found is None:
                raise UnknownSchemaError(namespace, version)
            return found
        candidates = [e for (ns, _), e in self._entries.items() if ns == namespace]
        if not candidates:
            raise UnknownSchemaError(namespace)
        return max(candidates, key=lambda e: _version_key(e.version))

    def validator(self, namespace: str | None, version: str | None = None) -> Validator:
        """The compiled validator for this thread (compiled on first use, then reused)."""
        entry = self.entry(namespace, version)
        cache: dict[SchemaEntry, Validator] = self._local.__dict__.setdefault("validators", {})
        validator = cache.get(entry)
        if validator is None:
            kind = _Xsd11Validator if entry.xsd_version == "1.1" else _LxmlValidator
            validator = cache[entry] = kind(entry, self.schemas_dir)
        return validator

    def validate(
        self,
        node: etree._Element | etree._ElementTree,
        *,
        source: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        skip: Skip | None = None,
    ) -> SchemaEntry:
        """Validate against the schema of ``namespace`` (default: the root element's namespace);
        issues about elements ``skip`` says True of are left out.

        :raises SchemaValidationError: with every issue found (line, column, path, message).
        :raises UnknownSchemaError: when no schema is registered for that namespace.
        """
        root = node.getroot() if isinstance(node, etree._ElementTree) else node
        ns = namespace if namespace is not None else etree.QName(root).namespace
        validator = self.validator(ns, version)
        issues = validator.issues(node, skip)
        if issues:
            raise SchemaValidationError(issues, source=source, schema=validator.entry.path.name)
        return validator.entry


def _read_entry(path: Path) -> SchemaEntry:
    root = parse_file(path).getroot()
    namespace = root.get("targetNamespace", "")
    version = root.get("version", "")
    xsd_version = root.get(f"{{{VERSIONING_NS}}}minVersion", "1.0")
    return SchemaEntry(namespace=namespace, version=version, path=path, xsd_version=xsd_version)


_PREFIX = re.compile(r"/[\w.-]+:")
_LOCATION_ELEMENTS = tuple(f"{{{XSD_NS}}}{name}" for name in ("import", "include", "redefine"))


def _check_locations(path: Path, root: Path, seen: set[Path]) -> None:
    """Refuse, by name, any import/include/redefine that points outside the schemas folder.

    lxml swallows an error raised inside a resolver into a vague parse error, so the places a
    schema may load are checked here first, recursively; the resolver stays as a second guard.
    """
    if path in seen:
        return
    seen.add(path)
    for element in parse_file(path).getroot():
        if element.tag not in _LOCATION_ELEMENTS or not element.get("schemaLocation"):
            continue
        location = element.get("schemaLocation", "")
        target = (path.parent / location.removeprefix("file://")).resolve()
        if "://" in location.replace("file://", "") or not target.is_relative_to(root):
            raise XMLSecurityError(
                f"schema {etree.QName(element).localname} of '{location}' is outside the "
                f"schemas folder {root}",
                source=str(path),
                line=line_of(element),
            )
        if target.is_file():
            _check_locations(target, root, seen)


def _version_key(version: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in version.split("."))


def _locate(root: etree._Element, xpath: str | None) -> etree._Element | None:
    """The element lxml's error path points at: ``/*/*[2]`` from the validated ``root``, or
    ``/c:Profile/c:Emails`` with the document's prefixes from the document's root."""
    if not xpath:
        return None
    try:
        if xpath.startswith("/*"):
            found = root.xpath("." + xpath[2:]) if len(xpath) > 2 else [root]
        else:
            prefixes = {k: v for k, v in root.nsmap.items() if k}
            found = root.getroottree().xpath(xpath, namespaces=prefixes)
    except etree.XPathError:
        return None
    first = found[0] if isinstance(found, list) and found else None
    return first if isinstance(first, etree._Element) else None


def _readable_path(root: etree._Element, element: etree._Element) -> str:
    """The path of ``element`` in local names (``/Profile/Emails/Email[2]``), from ``root``
    (the element that was validated, also when it is a record inside a larger document)."""
    steps = []
    current: etree._Element | None = element
    while current is not None:
        name = etree.QName(current).localname
        parent = current.getparent() if current is not root else None
        if parent is not None:
            same = [c for c in parent if c.tag == current.tag]
            if len(same) > 1:
                name += f"[{same.index(current) + 1}]"
        steps.append(name)
        current = parent
    return "/" + "/".join(reversed(steps))


# --- keeping rejected values out of messages --------------------------------------------------

#: Where libxml2 (lxml) and xmlschema quote the value they refused. Each pattern's group
#: ``value`` is replaced; the rest (element, attribute, facet, pattern, code list) stays.
_QUOTED_VALUES = [
    re.compile(p)
    for p in (
        # libxml2 facets: "[facet 'pattern'] The value 'x' is not accepted by the pattern '...'"
        r"\b(?:The value|The element content|The QName value) (?P<value>'.*')(?= (?:is not "
        r"accepted by the pattern|is not an element of the set|has a length of|is less than|is "
        r"greater than|must be greater than|must be less than|has more digits|has more "
        r"fractional digits|is not facet-valid|does not match the fixed value|does not resolve|"
        r"has no corresponding|of the xsi:type))",
        # libxml2 simple types: "Element 'BirthDate': '1990-13-45' is not a valid value of ..."
        r"(?<=: )(?P<value>'.*')(?= is not a valid value of the )",
        # xmlschema: "attribute key='x': ..."
        r"\battribute [\w:{}./-]+=(?P<value>'[^']*'|\"[^\"]*\")",
        # xmlschema: "invalid value 'x' for ..." and similar
        r"\b(?:invalid value|invalid literal [^:]*:) (?P<value>'[^']*'|\"[^\"]*\")",
    )
]
#: Identity constraints quote the whole key: "Duplicate key-sequence ['a', 'k1'] in unique ..."
#: (libxml2), "duplicated value ('k1',) for ..." (xmlschema).
_KEY_VALUES = [
    re.compile(r"(?<=key-sequence )(?P<value>\[.*\])(?= (?:in|of) )"),
    re.compile(r"(?<=duplicated value )(?P<value>\(.*\))(?= for )"),
]


def redact_values(message: str, element: etree._Element | None = None) -> str:
    """``message`` with every rejected value replaced by ``[redacted, N chars]``.

    Known message forms are rewritten by pattern; then, as a second guard for forms not known
    here, any quoted text or attribute value of ``element`` (the element the issue is about)
    that still appears quoted in the message is replaced as well.
    """
    for pattern in _QUOTED_VALUES:
        message = pattern.sub(_redact_group, message)
    for pattern in _KEY_VALUES:
        message = pattern.sub(lambda m: _spliced(m, "[redacted key]"), message)
    if element is not None:
        for value in _values_of(element):
            for quoted in (f"'{value}'", f'"{value}"'):
                if quoted in message:
                    message = message.replace(quoted, _placeholder(value))
    return message


def _redact_group(match: re.Match[str]) -> str:
    value = match.group("value")
    if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) >= 2:
        value = value[1:-1]
    return _spliced(match, _placeholder(value))


def _spliced(match: re.Match[str], replacement: str) -> str:
    start, end = match.span("value")
    whole_start = match.start()
    text = match.group(0)
    return text[: start - whole_start] + replacement + text[end - whole_start :]


def _placeholder(value: str) -> str:
    return f"[redacted, {len(value)} chars]"


def _values_of(element: etree._Element) -> list[str]:
    """The element's own text and attribute values (raw and whitespace-collapsed), longest
    first so a value inside another is not replaced half-way."""
    found: set[str] = set()
    for value in [element.text or "", *(str(v) for v in element.attrib.values())]:
        for form in (value, value.strip(), " ".join(value.split())):
            if form:
                found.add(form)
    return sorted(found, key=len, reverse=True)
