"""The schema registry: which XSD serves which namespace and version, compiled once per thread.

Schemas are found by scanning a folder (``schemas/`` by default) for ``*.xsd`` files and reading
each one's ``targetNamespace`` and ``version`` attribute. lxml's ``XMLSchema`` is the gatekeeper
(XSD 1.0, fast); a schema that declares ``vc:minVersion="1.1"`` is served by xmlschema's XSD 1.1
validator instead, since lxml cannot. Compiled schemas are kept per thread because a shared lxml
``XMLSchema`` resets its ``error_log`` on every call. Imports and includes inside a schema are
resolved only from the registry's folder: anything else is refused.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import xmlschema
from lxml import etree

from gateway.errors import (
    SchemaValidationError,
    UnknownSchemaError,
    ValidationIssue,
    XMLSecurityError,
)
from gateway.xml.parser import make_parser, parse_file

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


class Validator(Protocol):
    entry: SchemaEntry

    def issues(self, node: etree._Element | etree._ElementTree) -> list[ValidationIssue]: ...


class _FolderOnlyResolver(etree.Resolver):
    """Lets a schema import or include files from the schemas folder, and nothing else."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self._root = root.resolve()

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        target = Path(system_url.removeprefix("file://")).resolve()
        if not target.is_relative_to(self._root) or not target.is_file():
            raise XMLSecurityError(
                f"schema import '{system_url}' is outside the schemas folder {self._root}"
            )
        return self.resolve_filename(str(target), context)


class _LxmlValidator:
    def __init__(self, entry: SchemaEntry, schemas_dir: Path) -> None:
        self.entry = entry
        _check_locations(entry.path, schemas_dir.resolve(), set())
        parser = make_parser(_FolderOnlyResolver(schemas_dir))
        doc = etree.parse(str(entry.path), parser)  # hardened parser; only our own files
        self._schema = etree.XMLSchema(doc)

    def issues(self, node: etree._Element | etree._ElementTree) -> list[ValidationIssue]:
        if self._schema.validate(node):
            return []
        root = node.getroot() if isinstance(node, etree._ElementTree) else node
        return [
            ValidationIssue(
                line=e.line or None,
                column=e.column or None,
                path=_readable_path(root, e.path),
                message=e.message,
            )
            for e in self._schema.error_log
        ]


class _Xsd11Validator:
    """XSD 1.1 (assertions, open content...), served by xmlschema. Off the hot path."""

    def __init__(self, entry: SchemaEntry, schemas_dir: Path) -> None:
        self.entry = entry
        self._schema = xmlschema.XMLSchema11(
            str(entry.path), allow="sandbox", defuse="always", base_url=str(schemas_dir)
        )

    def issues(self, node: etree._Element | etree._ElementTree) -> list[ValidationIssue]:
        root = node.getroot() if isinstance(node, etree._ElementTree) else node
        return [
            ValidationIssue(
                line=getattr(err.obj, "sourceline", None),
                column=None,
                path=err.path,
                message=err.reason or str(err),
            )
            for err in self._schema.iter_errors(root)
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
    ) -> SchemaEntry:
        """Validate against the schema of ``namespace`` (default: the root element's namespace).

        :raises SchemaValidationError: with every issue found (line, column, path, message).
        :raises UnknownSchemaError: when no schema is registered for that namespace.
        """
        root = node.getroot() if isinstance(node, etree._ElementTree) else node
        ns = namespace if namespace is not None else etree.QName(root).namespace
        validator = self.validator(ns, version)
        issues = validator.issues(node)
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
                line=element.sourceline,
            )
        if target.is_file():
            _check_locations(target, root, seen)


def _version_key(version: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in version.split("."))


def _readable_path(root: etree._Element, xpath: str | None) -> str | None:
    """Turn lxml's positional path (``/*/*[2]``) into local names (``/Profile/Emails/Email[2]``).

    ``root`` is the element that was validated; lxml's path starts at it (``/*``), also when it
    is a record inside a larger streamed document.
    """
    if not xpath:
        return None
    if not xpath.startswith("/*"):  # lxml named the steps with the document's prefixes
        return _PREFIX.sub("/", xpath)
    try:
        found = root.xpath("." + xpath[2:]) if len(xpath) > 2 else [root]
    except etree.XPathError:
        return xpath
    if not found or not isinstance(found[0], etree._Element):
        return xpath
    steps = []
    element: etree._Element | None = found[0]
    while element is not None:
        name = etree.QName(element).localname
        parent = element.getparent() if element is not root else None
        if parent is not None:
            same = [c for c in parent if c.tag == element.tag]
            if len(same) > 1:
                name += f"[{same.index(element) + 1}]"
        steps.append(name)
        element = parent
    return "/" + "/".join(reversed(steps))
