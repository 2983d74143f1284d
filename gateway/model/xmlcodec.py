"""Canonical profiles to and from CPEX profile format 1.0 XML (lxml elements).

Table-driven: each model class has one :class:`Record` listing, in XSD order, where each of its
fields goes (an attribute, the element's own text, a child element, a list of children with or
without a wrapper element). Encoding walks that list; decoding looks every child's tag up in a
dict built once at import, so each element costs one lookup and one conversion. The same
building blocks serve the exchange envelope (:mod:`gateway.model.envelope`).

Decoding expects a document that passed the XSD but does not trust it: whatever cannot become
the model raises :class:`~gateway.errors.ModelError` with the element path, in the form schema
validation issues use (``/Profile/Emails/Email[2]/@primary``). Messages name elements and the
expected form, never the values (no personal data in errors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import partial
from typing import Any, Generic, Protocol, TypeVar, cast

from lxml import etree

from gateway.errors import ModelError
from gateway.model.namespaces import CPEX_PROFILE_NS, CPEX_PROFILE_PREFIX, XSI_NS
from gateway.model.profile import (
    Account,
    AddressType,
    Channel,
    ChannelPreference,
    Consent,
    ConsentStatus,
    ContactPerson,
    ContactType,
    CreditStatus,
    CustomAttribute,
    Email,
    Employment,
    FinancialSummary,
    Gender,
    Identifier,
    Metadata,
    Organization,
    Person,
    Phone,
    PhoneQuality,
    PhoneType,
    PostalAddress,
    Preferences,
    Profile,
    Purpose,
    Recipient,
    WebPresence,
    WebType,
)

__all__ = [
    "PROFILE_TAG", "profile_from_element", "profile_to_bytes", "profile_to_element",
]

T = TypeVar("T")
Element = etree._Element

# What a failed conversion raises inside the codec; turned into ModelError with a path.
_CONVERSION_ERRORS = (ValueError, TypeError, KeyError, AttributeError, InvalidOperation)
_SubElement = etree.SubElement
_ELEMENTS_ONLY = etree.Element  # as an iterchildren() filter: skips comments and PIs
_XSI_PREFIX = f"{{{XSI_NS}}}"


# --- scalars -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scalar:
    """How one scalar type is written as XML text and read back.

    ``kind`` names the expected form in error messages (the value itself is never shown).
    """

    kind: str
    dump: Callable[[Any], str]
    load: Callable[[str], Any]

    def put(self, parent: Element, tag: str, value: Any) -> None:
        text = self.dump(value)  # before creating the element: a bad value leaves no trace
        _SubElement(parent, tag).text = text

    def take(self, element: Element) -> Any:
        try:
            return self.load(element.text or "")
        except _CONVERSION_ERRORS as exc:
            raise ModelError(f"expected {self.kind}", path=element_path(element)) from exc


def _dump_text(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _dump_bool(value: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise TypeError("not a bool")


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _dump_int(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an int")
    return str(value)


def _load_int(text: str) -> int:
    text = text.strip()
    if "_" in text:  # int() takes 1_000, xs:integer does not
        raise ValueError("underscore in integer")
    return int(text)


def _dump_decimal(value: Decimal) -> str:
    """Plain notation (xs:decimal has no exponent) with the value's own scale, as JSON gives
    it: an amount of ``4273.00`` is ``4273.00``, not ``4273``.

    No ``normalize()``: it rounds to the context precision, which could turn a value that is
    too long for the schema into a valid-looking shorter one.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError("not a finite Decimal")
    return format(value, "f")


def _load_decimal(text: str) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError("not finite")
    return value


def _dump_date(value: date) -> str:
    if type(value) is not date:  # a datetime is a date too, but would write a time
        raise TypeError("not a date")
    return value.isoformat()


def _dump_datetime(value: datetime) -> str:
    """ISO 8601 with its offset; offsets with seconds (old LMT zones) are written in UTC."""
    if not isinstance(value, datetime):
        raise TypeError("not a datetime")
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("a time zone is required")
    if offset.microseconds or offset.seconds % 60:
        value = value.astimezone(UTC)
    return value.isoformat()


def _load_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError("a time zone is required")
    return value


TEXT = Scalar("text", _dump_text, str)
# A text that may be empty: an empty element (a phone kept only as received) is None.
OPTIONAL_TEXT = Scalar("text", lambda v: "" if v is None else _dump_text(v),
                       lambda text: text or None)
BOOL = Scalar("true or false", _dump_bool, lambda text: _BOOLEANS[text.strip()])
INT = Scalar("an integer", _dump_int, _load_int)
DECIMAL = Scalar("a decimal number", _dump_decimal, _load_decimal)
DATE = Scalar("a date YYYY-MM-DD", _dump_date, lambda text: date.fromisoformat(text.strip()))
DATETIME = Scalar(
    "a date and time with time zone (YYYY-MM-DDThh:mm:ss+hh:mm)", _dump_datetime, _load_datetime
)


def enum_scalar(cls: type[Enum]) -> Scalar:
    """A scalar for a str-valued enum; its XML values are exactly the enum's values."""
    by_value = {member.value: member for member in cls}
    return Scalar(
        f"one of {', '.join(by_value)}",
        lambda value: cls(value).value,
        lambda text: by_value[text.strip()],
    )


# --- where a field goes --------------------------------------------------------------------------


class Item(Protocol):
    """A scalar or a record: what one child element holds."""

    def put(self, parent: Element, tag: str, value: Any) -> None: ...

    def take(self, element: Element) -> Any: ...


@dataclass(frozen=True, slots=True)
class Attr:
    """A scalar field held in an (unqualified) attribute."""

    name: str
    field: str
    scalar: Scalar = TEXT


@dataclass(frozen=True, slots=True)
class Text:
    """A scalar field held in the element's own text (simple content with attributes)."""

    field: str
    scalar: Scalar = TEXT


@dataclass(frozen=True, slots=True)
class Child:
    """An optional field held in one child element."""

    tag: str
    field: str
    item: Item = TEXT

    def put_from(self, element: Element, obj: Any) -> None:
        value = getattr(obj, self.field)
        if value is None:
            return
        try:
            self.item.put(element, self.tag, value)
        except _CONVERSION_ERRORS as exc:
            raise _cannot_write(self.item, element, self.tag) from exc

    def take_into(self, child: Element, kwargs: dict[str, Any]) -> None:
        if self.field in kwargs:
            raise ModelError("element is repeated", path=element_path(child))
        kwargs[self.field] = self.item.take(child)

    def tags(self) -> tuple[str, ...]:
        return (self.tag,)


@dataclass(frozen=True, slots=True)
class Many:
    """A tuple field: one child element per item, inside ``wrapper`` when given.

    An empty tuple writes nothing (the schema's wrappers hold at least one item).
    """

    tag: str
    field: str
    item: Item = TEXT
    wrapper: str | None = None

    def put_from(self, element: Element, obj: Any) -> None:
        values = getattr(obj, self.field)
        if not values:
            return
        parent = element if self.wrapper is None else _SubElement(element, self.wrapper)
        for index, value in enumerate(values, 1):
            try:
                self.item.put(parent, self.tag, value)
            except _CONVERSION_ERRORS as exc:
                path = f"{element_path(parent)}/{_local(self.tag)}[{index}]"
                raise ModelError(f"cannot write: expected {_kind(self.item)}", path=path) from exc

    def take_into(self, child: Element, kwargs: dict[str, Any]) -> None:
        if self.wrapper is None:  # collected in a list, made a tuple by the record
            kwargs.setdefault(self.field, []).append(self.item.take(child))
            return
        if self.field in kwargs:
            raise ModelError("element is repeated", path=element_path(child))
        items = []
        for grandchild in child.iterchildren(_ELEMENTS_ONLY):
            if grandchild.tag != self.tag:
                raise _unexpected(grandchild)
            items.append(self.item.take(grandchild))
        kwargs[self.field] = tuple(items)

    def tags(self) -> tuple[str, ...]:
        return (self.tag if self.wrapper is None else self.wrapper,)


@dataclass(frozen=True, slots=True)
class Choice:
    """One field whose value's type picks the child element (an ``xs:choice`` of records).

    With ``wrapper``, the chosen element sits inside that element (the envelope's ``Body``).
    """

    field: str
    records: Mapping[str, Record[Any]]  # tag -> record
    wrapper: str | None = None

    def put_from(self, element: Element, obj: Any) -> None:
        value = getattr(obj, self.field)
        for tag, record in self.records.items():
            if type(value) is record.cls:
                parent = element if self.wrapper is None else _SubElement(element, self.wrapper)
                record.put(parent, tag, value)
                return
        names = ", ".join(r.cls.__name__ for r in self.records.values())
        raise ModelError(
            f"cannot write {type(value).__name__} here: expected one of {names}",
            path=element_path(element),
        )

    def take_into(self, child: Element, kwargs: dict[str, Any]) -> None:
        if self.field in kwargs:
            raise ModelError("only one of these elements is allowed here", path=element_path(child))
        if self.wrapper is not None:
            chosen = list(child.iterchildren(_ELEMENTS_ONLY))
            if len(chosen) != 1:
                raise ModelError("exactly one element is required here", path=element_path(child))
            child = chosen[0]
        record = self.records.get(child.tag)
        if record is None:
            raise _unexpected(child)
        kwargs[self.field] = record.take(child)

    def tags(self) -> tuple[str, ...]:
        return (self.wrapper,) if self.wrapper is not None else tuple(self.records)


ElementSpec = Child | Many | Choice


# --- records -------------------------------------------------------------------------------------


class Record(Generic[T]):
    """How one model dataclass maps to an element's attributes, text and children.

    ``specs`` are given in XSD order (attributes and text anywhere). ``one_of`` names fields of
    which exactly one must be set (an ``xs:choice`` between two optional model fields).
    """

    def __init__(
        self, cls: type[T], *specs: Attr | Text | ElementSpec, one_of: tuple[str, ...] = ()
    ) -> None:
        self.cls = cls
        self.fields = frozenset(s.field for s in specs)
        self._attrs = {s.name: s for s in specs if isinstance(s, Attr)}
        texts = [s for s in specs if isinstance(s, Text)]
        self._text = texts[0] if texts else None
        self._elements = tuple(s for s in specs if isinstance(s, (Child, Many, Choice)))
        self._by_tag = {tag: s for s in self._elements for tag in s.tags()}
        self._lists = tuple(
            s.field for s in self._elements if isinstance(s, Many) and s.wrapper is None
        )
        names = {s.field: _local(s.tags()[0]) for s in self._elements}
        names.update({s.field: f"@{s.name}" for s in self._attrs.values()})
        self._required = tuple(
            (f.name, names.get(f.name, f.name))
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
        self._one_of = one_of

    # encoding

    def build(
        self, tag: str, obj: T, parent: Element | None = None, nsmap: dict[str, str] | None = None
    ) -> Element:
        """A new element for ``obj``: a root (with ``nsmap``) or the last child of ``parent``."""
        element = etree.Element(tag, nsmap=nsmap) if parent is None else _SubElement(parent, tag)
        self.fill(element, obj)
        return element

    def put(self, parent: Element, tag: str, value: T) -> None:
        self.fill(_SubElement(parent, tag), value)

    def fill(self, element: Element, obj: T) -> None:
        if type(obj) is not self.cls:
            raise ModelError(
                f"cannot write {type(obj).__name__}: expected {self.cls.__name__}",
                path=element_path(element),
            )
        if self._one_of:
            self._check_one_of(partial(getattr, obj), element)
        for spec in self._attrs.values():
            value = getattr(obj, spec.field)
            if value is not None:
                try:
                    element.set(spec.name, spec.scalar.dump(value))
                except _CONVERSION_ERRORS as exc:
                    raise _cannot_write(spec.scalar, element, attribute=spec.name) from exc
        if self._text is not None:
            try:
                element.text = self._text.scalar.dump(getattr(obj, self._text.field))
            except _CONVERSION_ERRORS as exc:
                raise _cannot_write(self._text.scalar, element) from exc
        for child in self._elements:
            child.put_from(element, obj)

    # decoding

    def take(self, element: Element) -> T:
        kwargs: dict[str, Any] = {}
        for name, raw in cast("list[tuple[str, str]]", element.items()):  # str with lxml
            spec = self._attrs.get(name)
            if spec is None:
                if name.startswith(_XSI_PREFIX):  # xsi:schemaLocation and friends
                    continue
                raise ModelError("unexpected attribute", path=element_path(element, name))
            try:
                kwargs[spec.field] = spec.scalar.load(raw)
            except _CONVERSION_ERRORS as exc:
                raise ModelError(
                    f"expected {spec.scalar.kind}", path=element_path(element, name)
                ) from exc
        if self._text is not None:
            kwargs[self._text.field] = self._text.scalar.take(element)
        for child in element.iterchildren(_ELEMENTS_ONLY):
            handler = self._by_tag.get(child.tag)
            if handler is None:
                raise _unexpected(child)
            handler.take_into(child, kwargs)
        for name in self._lists:
            if name in kwargs:
                kwargs[name] = tuple(kwargs[name])
        for name, xml_name in self._required:
            if name not in kwargs:
                raise ModelError(f"{xml_name} is required", path=element_path(element))
        if self._one_of:
            self._check_one_of(kwargs.get, element)
        return self.cls(**kwargs)

    def _check_one_of(self, get: Callable[[str], Any], element: Element) -> None:
        if sum(get(name) is not None for name in self._one_of) != 1:
            choices = " or ".join(_local(self._elements_tag(n)) for n in self._one_of)
            raise ModelError(f"exactly one of {choices} is required", path=element_path(element))

    def _elements_tag(self, field: str) -> str:
        return next(s.tags()[0] for s in self._elements if s.field == field)


# --- paths and messages --------------------------------------------------------------------------


def element_path(element: Element, attribute: str | None = None) -> str:
    """``/Envelope/Body/Batch/Profile[2]/Emails/Email`` (+ ``/@primary``): local names, with a
    1-based index where siblings share the name, as in schema validation issues. Built only when
    an error is raised, so the hot path pays nothing for it."""
    steps = []
    node: Element | None = element
    while node is not None:
        name = _local(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = list(parent.iterchildren(node.tag))
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    path = "/" + "/".join(reversed(steps))
    return f"{path}/@{attribute}" if attribute else path


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _kind(item: Item) -> str:
    return item.kind if isinstance(item, Scalar) else type(item).__name__


def _cannot_write(item: Item, element: Element, tag: str | None = None, *,
                  attribute: str | None = None) -> ModelError:
    path = element_path(element, attribute)
    if tag is not None:
        path += f"/{_local(tag)}"
    return ModelError(f"cannot write: expected {_kind(item)}", path=path)


def _unexpected(element: Element) -> ModelError:
    return ModelError(f"unexpected element {_local(element.tag)}", path=element_path(element))


# --- the CPEX profile format 1.0 -----------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{CPEX_PROFILE_NS}}}{name}"


def _children(*fields: tuple[str, str, Item]) -> tuple[Child, ...]:
    return tuple(Child(_q(tag), field, item) for tag, field, item in fields)


def _wrapped(wrapper: str, tag: str, field: str, item: Item = TEXT) -> Many:
    return Many(_q(tag), field, item, wrapper=_q(wrapper))


PROFILE_TAG = _q("Profile")
NSMAP = {CPEX_PROFILE_PREFIX: CPEX_PROFILE_NS}

IDENTIFIER = Record(Identifier, Attr("system", "system"), Attr("key", "key"))
EMPLOYMENT = Record(Employment, *_children(
    ("OrganizationName", "organization_name", TEXT),
    ("OrganizationId", "organization_id", TEXT),
    ("JobTitle", "job_title", TEXT),
    ("Department", "department", TEXT),
))
PERSON = Record(Person, *_children(
    ("GivenName", "given_name", TEXT),
    ("MiddleName", "middle_name", TEXT),
    ("FamilyName", "family_name", TEXT),
    ("Prefix", "prefix", TEXT),
    ("Suffix", "suffix", TEXT),
    ("BirthDate", "birth_date", DATE),
    ("Gender", "gender", enum_scalar(Gender)),
    ("Language", "language", TEXT),
    ("Employment", "employment", EMPLOYMENT),
))
CONTACT_PERSON = Record(ContactPerson, *_children(
    ("Name", "name", TEXT),
    ("GivenName", "given_name", TEXT),
    ("FamilyName", "family_name", TEXT),
    ("Role", "role", TEXT),
    ("Email", "email", TEXT),
    ("Phone", "phone", TEXT),
))
ORGANIZATION = Record(
    Organization,
    *_children(
        ("Name", "name", TEXT),
        ("LegalForm", "legal_form", TEXT),
        ("RegistrationNumber", "registration_number", TEXT),
    ),
    _wrapped("Contacts", "Contact", "contacts", CONTACT_PERSON),
)
ADDRESS = Record(
    PostalAddress,
    Attr("type", "type", enum_scalar(AddressType)),
    Attr("id", "id"),
    Attr("label", "label"),
    Attr("preferred", "preferred", BOOL),
    Many(_q("Line"), "lines"),
    *_children(
        ("City", "city", TEXT),
        ("PostalCode", "postal_code", TEXT),
        ("Region", "region", TEXT),
        ("Country", "country", TEXT),
        ("Addressee", "addressee", TEXT),
        ("Company", "company", TEXT),
        ("Phone", "phone", TEXT),
        ("ValidFrom", "valid_from", DATE),
        ("ValidTo", "valid_to", DATE),
    ),
)
EMAIL = Record(
    Email, Attr("type", "type", enum_scalar(ContactType)), Attr("primary", "primary", BOOL),
    Attr("verified", "verified", BOOL), Text("address"),
)
PHONE = Record(
    Phone, Attr("type", "type", enum_scalar(PhoneType)), Attr("primary", "primary", BOOL),
    Attr("raw", "raw"), Attr("quality", "quality", enum_scalar(PhoneQuality)),
    Attr("verified", "verified", BOOL), Text("number", OPTIONAL_TEXT),
)
WEB_PRESENCE = Record(WebPresence, Attr("type", "type", enum_scalar(WebType)), Text("url"))
CHANNEL = Record(
    ChannelPreference, Attr("name", "channel", enum_scalar(Channel)),
    Attr("optIn", "opted_in", BOOL),
)
PREFERENCES = Record(
    Preferences,
    _wrapped("Channels", "Channel", "channels", CHANNEL),
    _wrapped("Interests", "Interest", "interests"),
)
CONSENT = Record(Consent, *_children(
    ("Purpose", "purpose", enum_scalar(Purpose)),
    ("Recipient", "recipient", enum_scalar(Recipient)),
    ("Status", "status", enum_scalar(ConsentStatus)),
    ("Given", "given", DATETIME),
    ("Expires", "expires", DATETIME),
    ("Source", "source", TEXT),
))
FINANCIAL = Record(FinancialSummary, *_children(
    ("CreditStatus", "credit_status", enum_scalar(CreditStatus)),
    ("Balance", "balance", DECIMAL),
    ("Currency", "currency", TEXT),
    ("OpenInvoices", "open_invoices", INT),
    ("OrderCount", "order_count", INT),
    ("LifetimeValue", "lifetime_value", DECIMAL),
    ("LastOrderDate", "last_order_date", DATE),
    ("AsOf", "as_of", DATETIME),
    ("ConfirmedAt", "confirmed_at", DATETIME),
    ("ChangedAt", "changed_at", DATETIME),
))
ACCOUNT = Record(Account, *_children(
    ("Login", "login", TEXT),
    ("Enabled", "enabled", BOOL),
    ("Created", "created", DATETIME),
    ("LastLogin", "last_login", DATETIME),
))
CUSTOM_ATTRIBUTE = Record(CustomAttribute, Attr("name", "name"), Text("value"))
METADATA = Record(Metadata, *_children(
    ("Source", "source", TEXT),
    ("Created", "created", DATETIME),
    ("Updated", "updated", DATETIME),
    ("Version", "version", INT),
))
PROFILE = Record(
    Profile,
    Attr("id", "id"),
    _wrapped("Identifiers", "Identifier", "identifiers", IDENTIFIER),
    Child(_q("Person"), "person", PERSON),
    Child(_q("Organization"), "organization", ORGANIZATION),
    _wrapped("Addresses", "Address", "addresses", ADDRESS),
    _wrapped("Emails", "Email", "emails", EMAIL),
    _wrapped("Phones", "Phone", "phones", PHONE),
    _wrapped("Web", "Url", "web", WEB_PRESENCE),
    Child(_q("Preferences"), "preferences", PREFERENCES),
    _wrapped("Consents", "Consent", "consents", CONSENT),
    Child(_q("FinancialSummary"), "financial", FINANCIAL),
    _wrapped("Segments", "Segment", "segments"),
    Child(_q("Account"), "account", ACCOUNT),
    _wrapped("Extensions", "Attribute", "attributes", CUSTOM_ATTRIBUTE),
    Child(_q("Metadata"), "metadata", METADATA),
    one_of=("person", "organization"),
)

#: Every record of the profile format (tests check that each covers all its model's fields).
PROFILE_RECORDS: tuple[Record[Any], ...] = (
    IDENTIFIER, EMPLOYMENT, PERSON, CONTACT_PERSON, ORGANIZATION, ADDRESS, EMAIL, PHONE,
    WEB_PRESENCE, CHANNEL, PREFERENCES, CONSENT, FINANCIAL, ACCOUNT, CUSTOM_ATTRIBUTE, METADATA,
    PROFILE,
)


def profile_to_element(profile: Profile, parent: Element | None = None) -> Element:
    """A ``cpex:Profile`` element, children in XSD order.

    With ``parent`` (a batch, a query result) it is appended there and declares no namespace of
    its own; otherwise it is a new root that declares the ``cpex`` prefix.

    :raises ModelError: when a value cannot be written (a naive datetime, a wrong type).
    """
    return PROFILE.build(PROFILE_TAG, profile, parent, None if parent is not None else NSMAP)


def profile_from_element(element: Element) -> Profile:
    """The canonical profile held by a ``cpex:Profile`` element.

    :raises ModelError: with the element path of the first thing that cannot be converted.
    """
    if element.tag != PROFILE_TAG:
        raise ModelError(
            f"expected a Profile element in namespace {CPEX_PROFILE_NS}",
            path=element_path(element),
        )
    return PROFILE.take(element)


def profile_to_bytes(profile: Profile, *, pretty: bool = False) -> bytes:
    """A standalone UTF-8 document holding one profile."""
    return to_document(profile_to_element(profile), pretty=pretty)


def to_document(element: Element, *, pretty: bool = False) -> bytes:
    """Serialise a root element as a UTF-8 document with an XML declaration."""
    if pretty:
        etree.indent(element)
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")
