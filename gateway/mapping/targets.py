"""Target writers: where a target path puts a value, and how the mapped record is finished.

A mapping fills a nested dict whose keys each writer chose when the paths were compiled; the
writer then turns it into the output. Three writers:

- ``canonical``: model field paths, checked against the dataclasses; finished by the compiled
  builder in :mod:`gateway.mapping.canonical` into a :class:`~gateway.model.Profile`.
- ``xml``: element paths (``acme:address/@kind``, ``acme:attr[@attribute-id='tier']``, ``.``
  for an element's own text), checked against the target XSD with xmlschema at compile time.
  The XSD also gives each element's position in its parent's content model, so elements are
  written in the order the schema requires whatever order the mapping file lists them in.
- ``json``: dotted keys, no schema; values made JSON-ready (decimals and dates as texts).

Writers also validate a finished output for ``preview`` (XML against its XSD with lxml, the
canonical profile against the CPEX profile XSD) and render it for people.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import xmlschema
from lxml import etree

from gateway.errors import GatewayError, ValidationIssue
from gateway.mapping.canonical import build_profile, resolve_path
from gateway.mapping.spec import Arg, TargetSpec
from gateway.mapping.values import as_text
from gateway.model import Profile, to_dict
from gateway.model.namespaces import CPEX_PROFILE_NS
from gateway.model.profile import AttributeDeclaration
from gateway.model.xmlcodec import profile_to_element
from gateway.xml.schemas import SchemaRegistry


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a target path writes: keys into the output's nested dicts, one or many values,
    and (for a group) the scope its fields are resolved in; ``check`` is a step the value must
    pass (a custom attribute's declared type), ``warning`` what ``mapping check`` should say."""

    key: tuple[Any, ...]
    many: bool
    scope: Any
    check: Callable[[Any], Any] | None = None
    warning: str | None = None


class TargetWriter(Protocol):
    root_scope: Any

    def resolve(self, path: Arg, scope: Any, *, group: bool) -> Slot: ...

    def undeclared(self, output: Any) -> list[str]:
        """Names of custom attributes in the output the deployment does not declare."""
        ...

    def raw_slot(self, path: Arg, scope: Any) -> tuple[Slot, tuple[Any, ...] | None]:
        """Where ``on_error: keep_raw`` keeps the value as received for the field ``path``, and
        the key of the quality flag to set beside it (None: no such flag).

        :raises MappingError: the target has no place for a raw text.
        """
        ...

    def finish(self, node: dict[Any, Any]) -> Any: ...

    def issues(self, output: Any) -> list[ValidationIssue]: ...

    def jsonable(self, output: Any) -> Any: ...

    def render(self, output: Any) -> str: ...


# --- canonical -----------------------------------------------------------------------------------


#: Where ``attributes.NAME`` fields collect their values before :meth:`CanonicalWriter.finish`
#: makes them ``Profile.attributes`` items.
_ATTRIBUTE_VALUES = "__attributes__"


class CanonicalWriter:
    """Builds :class:`Profile`; ``preview`` validates it against the CPEX profile XSD.

    ``attributes.NAME`` targets a custom attribute by name: its value is checked against the
    declared type (``attributes``, from the settings) and written in canonical text form. A name
    the deployment does not declare is still written, with a warning (``mapping check``, preview
    and each record's outcome); without declarations (a bare load) every name is text.
    """

    root_scope: Any = Profile

    def __init__(self, spec: TargetSpec, schemas: SchemaRegistry | None,
                 attributes: Mapping[str, AttributeDeclaration] | None = None) -> None:
        self.schemas = schemas
        self.attributes = attributes

    def undeclared(self, output: Profile) -> list[str]:
        """The names of the output's custom attributes the deployment does not declare."""
        if self.attributes is None or not output.attributes:
            return []
        return sorted({a.name for a in output.attributes} - set(self.attributes))

    def resolve(self, path: Arg, scope: Any, *, group: bool) -> Slot:
        head, _, name = path.value.partition(".")
        if scope is Profile and head == "attributes" and name and not group:
            return self._attribute(path, name)
        try:
            steps, found = resolve_path(scope, path.value)
        except KeyError as exc:
            raise path.pos.error(
                f"'{path.value}' is not a field of the canonical profile: {exc.args[0]}"
            ) from exc
        if group and found.record is None:
            raise path.pos.error(f"'{path.value}' holds values, not records: a group (with "
                                 "'fields') needs a record field")
        if not group and found.record is not None:
            raise path.pos.error(f"'{path.value}' holds records: map it with a group "
                                 f"(target: {path.value}, fields: [...])")
        return Slot(steps, found.many, found.record)

    def raw_slot(self, path: Arg, scope: Any) -> tuple[Slot, tuple[Any, ...] | None]:
        """The record's ``raw`` field beside the target when it has one (``phones.number`` ->
        ``phones.raw``, with ``quality`` set to ``invalid``), else the target itself when it
        holds text."""
        head, _, _ = path.value.rpartition(".")
        sibling = f"{head}." if head else ""
        try:
            steps, found = resolve_path(scope, f"{sibling}raw")
        except KeyError:
            steps, found = resolve_path(scope, path.value)
            if found.scalar is not str:
                raise path.pos.error(
                    f"'on_error: keep_raw' needs a text target or a record with a 'raw' field; "
                    f"'{path.value}' holds {getattr(found.scalar, '__name__', 'values')}"
                ) from None
            return Slot(steps, found.many, None), None
        try:
            quality, _ = resolve_path(scope, f"{sibling}quality")
        except KeyError:
            return Slot(steps, found.many, None), None
        return Slot(steps, found.many, None), quality

    def _attribute(self, path: Arg, name: str) -> Slot:
        if not _ATTRIBUTE_NAME.match(name):
            raise path.pos.error(f"'{name}' is not an attribute name (letters, digits, '_', '.',"
                                 " '-'; not starting with a digit)")
        declared = self.attributes.get(name) if self.attributes is not None else None
        warning = None
        if self.attributes is not None and declared is None:
            known = ", ".join(sorted(self.attributes)) or "none are declared"
            warning = (f"attribute '{name}' is not declared in the settings ([attributes.{name}]; "
                       f"declared: {known}): it is stored, but has no type or data category")
        kind = declared.type if declared is not None else "text"
        many = declared.many if declared is not None else False
        return Slot((_ATTRIBUTE_VALUES, name), many, None, _ATTRIBUTE_TYPES[kind], warning)

    def finish(self, node: dict[Any, Any]) -> Profile:
        values = node.pop(_ATTRIBUTE_VALUES, None)
        if values:
            items = [{"name": name, "value": v} for name, value in values.items()
                     for v in (value if isinstance(value, list) else [value])]
            node["attributes"] = [*node.get("attributes", ()), *items]
        profile: Profile = build_profile(node)
        return profile

    def issues(self, output: Any) -> list[ValidationIssue]:
        if self.schemas is None:
            return []
        try:
            element = profile_to_element(output)
        except GatewayError as exc:
            return [ValidationIssue(None, None, None, str(exc))]
        return self.schemas.validator(CPEX_PROFILE_NS).issues(element)

    def jsonable(self, output: Any) -> Any:
        return to_dict(output)

    def render(self, output: Any) -> str:
        return json.dumps(to_dict(output), indent=2, ensure_ascii=False)


_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


def _attribute_text(kind: str, convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A step making a value the canonical text of a declared type, or failing the field."""

    def check(value: Any) -> Any:
        if isinstance(value, list):
            return [check(v) for v in value]
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return as_text(convert(value.strip() if isinstance(value, str) else value))
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise ValueError(f"not {kind}") from exc

    return check


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return {"true": True, "1": True, "false": False, "0": False}[str(value).lower()]


def _to_datetime(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("not an integer")
    number = Decimal(str(value))
    if number != number.to_integral_value():
        raise ValueError("not whole")
    return int(number)


_ATTRIBUTE_TYPES: dict[str, Callable[[Any], Any]] = {
    "text": _attribute_text("a text", as_text),
    "integer": _attribute_text("an integer", _to_int),
    "decimal": _attribute_text("a decimal number", lambda v: Decimal(str(v))),
    "boolean": _attribute_text("true or false", _to_bool),
    "date": _attribute_text("a date YYYY-MM-DD",
                            lambda v: v if isinstance(v, date) else date.fromisoformat(str(v))),
    "datetime": _attribute_text("a date and time with a time zone", _to_datetime),
}


# --- JSON ----------------------------------------------------------------------------------------

_JSON_KEY = re.compile(r"^[A-Za-z_][\w-]*$")


class JsonWriter:
    """Nested JSON objects by dotted keys; ``many: true`` in the file makes a list."""

    root_scope: Any = None

    def __init__(self, spec: TargetSpec, schemas: SchemaRegistry | None,
                 attributes: Mapping[str, AttributeDeclaration] | None = None) -> None:
        pass

    def undeclared(self, output: Any) -> list[str]:
        return []

    def resolve(self, path: Arg, scope: Any, *, group: bool) -> Slot:
        steps = tuple(path.value.split("."))
        for step in steps:
            if not _JSON_KEY.match(step):
                raise path.pos.error(f"bad target key '{step}' in '{path.value}': use letters, "
                                     "digits, '_' and '-', joined by dots")
        return Slot(steps, False, None)

    def raw_slot(self, path: Arg, scope: Any) -> tuple[Slot, tuple[Any, ...] | None]:
        return self.resolve(path, scope, group=False), None

    def finish(self, node: dict[Any, Any]) -> dict[str, Any]:
        result: dict[str, Any] = _json_ready(node)
        return result

    def issues(self, output: Any) -> list[ValidationIssue]:
        return []

    def jsonable(self, output: Any) -> Any:
        return output

    def render(self, output: Any) -> str:
        return json.dumps(output, indent=2, ensure_ascii=False)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, (Decimal, date)):
        return as_text(value)
    return value


# --- XML -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XmlStep:
    """One step of a target path, resolved against the XSD."""

    kind: Literal["element", "attribute", "text"]
    name: str  # Clark notation for elements, the attribute name for attributes
    order: int  # position in the parent's content model (attributes and text first)
    fixed: tuple[tuple[str, str], ...] = ()  # attributes from a [@name='value'] predicate


_ELEMENT_STEP = re.compile(
    r"^(?P<name>[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)"
    r"(?:\[@(?P<attr>[A-Za-z_][\w.-]*)=(?P<q>['\"])(?P<value>[^'\"]*)(?P=q)\])?$"
)


@lru_cache(maxsize=16)
def _load_xsd(path: Path) -> xmlschema.XMLSchema:
    """The target XSD as xmlschema objects (slow to build, so built once per file)."""
    return xmlschema.XMLSchema(str(path), allow="sandbox", defuse="always")


class XmlWriter:
    """Elements in XSD order, root declared in the file, namespaces from ``namespaces``."""

    def __init__(self, spec: TargetSpec, schemas: SchemaRegistry | None,
                 attributes: Mapping[str, AttributeDeclaration] | None = None) -> None:
        assert spec.root is not None and spec.schema is not None
        if schemas is None:
            raise spec.schema.pos.error("an xml target needs the schema registry to check "
                                        "against its XSD")
        self.schemas = schemas
        self.namespace = spec.schema.value
        self.nsmap = {prefix: uri for prefix, uri in spec.namespaces.items()}
        try:
            entry = schemas.entry(self.namespace)
        except GatewayError as exc:
            raise spec.schema.pos.error(f"no XSD is registered for the target namespace "
                                        f"'{self.namespace}'") from exc
        xsd = _load_xsd(entry.path)
        self.root_tag = self._clark(spec.root)
        root = xsd.elements.get(etree.QName(self.root_tag).localname)
        if root is None or root.name != self.root_tag:
            raise spec.root.pos.error(f"the target XSD has no global element '{spec.root.value}'")
        self.root_scope = root

    def _clark(self, name: Arg, value: str | None = None) -> str:
        text = value if value is not None else name.value
        prefix, _, local = text.rpartition(":")
        if prefix and prefix not in self.nsmap:
            raise name.pos.error(f"the prefix '{prefix}' is not declared in target.namespaces")
        return f"{{{self.nsmap[prefix]}}}{local}" if prefix else local

    def undeclared(self, output: Any) -> list[str]:
        return []

    def raw_slot(self, path: Arg, scope: Any) -> tuple[Slot, tuple[Any, ...] | None]:
        return self.resolve(path, scope, group=False), None

    def resolve(self, path: Arg, scope: Any, *, group: bool) -> Slot:
        element = scope
        steps: list[XmlStep] = []
        parts = path.value.split("/")
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == ".":
                if not last or (not element.type.has_simple_content() and \
                        not element.type.has_mixed_content()):
                    raise path.pos.error(f"'.' (the text of {_local(element.name)}) is only "
                                         "allowed last, on an element with text content")
                steps.append(XmlStep("text", "", -1))
                continue
            if part.startswith("@"):
                name = part[1:]
                if not last:
                    raise path.pos.error(f"'{part}' is an attribute: it must be the last step")
                if name not in element.attributes:
                    raise path.pos.error(_not_allowed(f"attribute '{name}'", element,
                                                      list(element.attributes)))
                steps.append(XmlStep("attribute", name, -1))
                continue
            match = _ELEMENT_STEP.match(part)
            if match is None:
                raise path.pos.error(f"bad target step '{part}': expected prefix:name, "
                                     "prefix:name[@attr='value'], @attr or '.'")
            tag = self._clark(path, match["name"])
            children = _children(element)
            position = next((i for i, c in enumerate(children) if c.name == tag), None)
            if position is None:
                raise path.pos.error(_not_allowed(f"element {match['name']}", element,
                                                  [_local(c.name) for c in children]))
            child = children[position]
            fixed: tuple[tuple[str, str], ...] = ()
            if match["attr"]:
                if match["attr"] not in child.attributes:
                    raise path.pos.error(_not_allowed(f"attribute '{match['attr']}'", child,
                                                      list(child.attributes)))
                fixed = ((match["attr"], match["value"]),)
            steps.append(XmlStep("element", tag, position, fixed))
            element = child
        final = steps[-1]
        if group and final.kind != "element":
            raise path.pos.error("a group's target must be an element")
        if not group and final.kind == "element" and not (
            element.type.has_simple_content() or element.type.has_mixed_content()
        ):
            raise path.pos.error(f"element {_local(element.name)} holds child elements, not "
                                 "text: map it with a group or name a child")
        many = final.kind == "element" and (element.max_occurs is None or element.max_occurs > 1)
        return Slot(tuple(steps), many, element)

    def finish(self, node: dict[Any, Any]) -> etree._Element:
        root = etree.Element(self.root_tag, nsmap=self.nsmap)
        _fill(root, node)
        return root

    def issues(self, output: Any) -> list[ValidationIssue]:
        return self.schemas.validator(self.namespace).issues(output)

    def jsonable(self, output: Any) -> Any:
        return self.render(output)

    def render(self, output: Any) -> str:
        pretty = copy.deepcopy(output)  # indent a copy: the output itself stays as mapped
        etree.indent(pretty)
        return etree.tostring(pretty, encoding="unicode")


def _fill(element: etree._Element, node: dict[XmlStep, Any]) -> None:
    for step, value in sorted(node.items(), key=lambda item: item[0].order):
        if step.kind == "attribute":
            element.set(step.name, as_text(value))
        elif step.kind == "text":
            element.text = as_text(value)
        else:
            for item in value if isinstance(value, list) else [value]:
                child = etree.SubElement(element, step.name, dict(step.fixed))
                if isinstance(item, dict):
                    _fill(child, item)
                else:
                    child.text = as_text(item)


def _children(element: Any) -> list[Any]:
    kind = element.type
    if kind.is_simple() or kind.has_simple_content():
        return []
    return list(kind.content.iter_elements())


def _not_allowed(what: str, element: Any, allowed: list[str]) -> str:
    return (f"{what} is not allowed by the target XSD in {_local(element.name)} "
            f"(allowed: {', '.join(allowed) or 'none'})")


def _local(name: str) -> str:
    return name.rpartition("}")[2]


WRITERS: dict[str, type[CanonicalWriter] | type[JsonWriter] | type[XmlWriter]] = {
    "canonical": CanonicalWriter,
    "json": JsonWriter,
    "xml": XmlWriter,
}
