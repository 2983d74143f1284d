"""The canonical customer profile: the one shape every source is mapped into.

Plain frozen dataclasses (hashable, comparable, cheap): no I/O here. Every field that holds
personal data declares its data category in its metadata (``category``), which the consent
policy uses to decide what a partner may see. Collections are tuples so that two profiles with
the same content compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal


class DataCategory(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    DEMOGRAPHIC = "demographic"
    FINANCIAL = "financial"
    PREFERENCE = "preference"
    ONLINE = "online"


# Field metadata naming a field's data category (read by :func:`gateway.model.categories`).
IDENTITY = {"category": DataCategory.IDENTITY}
CONTACT = {"category": DataCategory.CONTACT}
DEMOGRAPHIC = {"category": DataCategory.DEMOGRAPHIC}
FINANCIAL = {"category": DataCategory.FINANCIAL}
PREFERENCE = {"category": DataCategory.PREFERENCE}
ONLINE = {"category": DataCategory.ONLINE}


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    DIVERSE = "diverse"
    UNKNOWN = "unknown"


class AddressType(StrEnum):
    HOME = "home"
    WORK = "work"
    BILLING = "billing"
    SHIPPING = "shipping"
    OTHER = "other"


class ContactType(StrEnum):
    PERSONAL = "personal"
    WORK = "work"
    OTHER = "other"


class PhoneType(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    WORK = "work"
    FAX = "fax"
    OTHER = "other"


class WebType(StrEnum):
    WEBSITE = "website"
    SOCIAL = "social"
    OTHER = "other"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    PUSH = "push"


class Purpose(StrEnum):
    """P3P purposes."""

    CURRENT = "current"
    ADMIN = "admin"
    DEVELOP = "develop"
    TAILORING = "tailoring"
    PSEUDO_ANALYSIS = "pseudo-analysis"
    INDIVIDUAL_ANALYSIS = "individual-analysis"
    CONTACT = "contact"
    TELEMARKETING = "telemarketing"
    OTHER_PURPOSE = "other-purpose"


class Recipient(StrEnum):
    """P3P recipients."""

    OURS = "ours"
    DELIVERY = "delivery"
    SAME = "same"
    OTHER_RECIPIENT = "other-recipient"
    UNRELATED = "unrelated"
    PUBLIC = "public"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    REVOKED = "revoked"


class PhoneQuality(StrEnum):
    """How far a phone number as received could be confirmed (CPEX 1.1)."""

    VALID = "valid"  # it fits a known number plan
    POSSIBLE = "possible"  # only its length fits
    INVALID = "invalid"  # kept as received (``raw``), no E.164 form


class CreditStatus(StrEnum):
    GOOD = "good"
    WATCH = "watch"
    HOLD = "hold"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Identifier:
    """A key of this customer in one source system (``system`` + ``key`` is unique)."""

    system: str
    key: str


@dataclass(frozen=True, slots=True)
class Employment:
    """Where a person works (CPEX 1.1): a B2B contact keeps both sides."""

    organization_name: str | None = None
    organization_id: str | None = None  # the organization's key in the source
    job_title: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    given_name: str | None = field(default=None, metadata=IDENTITY)
    middle_name: str | None = field(default=None, metadata=IDENTITY)
    family_name: str | None = field(default=None, metadata=IDENTITY)
    prefix: str | None = field(default=None, metadata=IDENTITY)
    suffix: str | None = field(default=None, metadata=IDENTITY)
    birth_date: date | None = field(default=None, metadata=DEMOGRAPHIC)
    gender: Gender | None = field(default=None, metadata=DEMOGRAPHIC)
    language: str | None = field(default=None, metadata=DEMOGRAPHIC)
    employment: Employment | None = field(default=None, metadata=DEMOGRAPHIC)


@dataclass(frozen=True, slots=True)
class ContactPerson:
    """A person to speak to at an organization (CPEX 1.1); ``name`` when the source gives the
    name whole."""

    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164


@dataclass(frozen=True, slots=True)
class Organization:
    name: str = field(metadata=IDENTITY)
    legal_form: str | None = field(default=None, metadata=IDENTITY)
    registration_number: str | None = field(default=None, metadata=IDENTITY)
    contacts: tuple[ContactPerson, ...] = field(default=(), metadata=CONTACT)


@dataclass(frozen=True, slots=True)
class PostalAddress:
    type: AddressType = AddressType.HOME
    lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    # CPEX 1.1
    id: str | None = None  # the address's key in the source (an address book entry)
    label: str | None = None  # the source's name for it ("Office", "Mum's")
    addressee: str | None = None  # the name on the envelope, when not the person's
    company: str | None = None
    phone: str | None = None  # E.164
    preferred: bool | None = None
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class Email:
    address: str
    type: ContactType = ContactType.PERSONAL
    primary: bool = False  # the preferred address
    verified: bool | None = None  # CPEX 1.1


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone number: ``number`` in E.164; a number normalisation could not confirm keeps the
    text as received in ``raw`` with its ``quality`` (then ``number`` may be missing)."""

    number: str | None = None  # E.164
    type: PhoneType = PhoneType.MOBILE
    primary: bool = False  # the preferred number
    # CPEX 1.1
    raw: str | None = None
    quality: PhoneQuality | None = None
    verified: bool | None = None


@dataclass(frozen=True, slots=True)
class WebPresence:
    url: str
    type: WebType = WebType.WEBSITE


@dataclass(frozen=True, slots=True)
class ChannelPreference:
    channel: Channel
    opted_in: bool


@dataclass(frozen=True, slots=True)
class Preferences:
    channels: tuple[ChannelPreference, ...] = ()
    interests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Consent:
    """A person's answer for one purpose and one kind of recipient (P3P vocabularies)."""

    purpose: Purpose
    recipient: Recipient
    status: ConsentStatus
    given: datetime
    expires: datetime | None = None
    source: str | None = None

    def in_force(self, at: datetime) -> bool:
        """Granted, and ``at`` lies between given and expiry."""
        return (
            self.status is ConsentStatus.GRANTED
            and self.given <= at
            and (self.expires is None or at < self.expires)
        )


@dataclass(frozen=True, slots=True)
class FinancialSummary:
    """What CRM users need from the ERP, as of the extraction it came from."""

    as_of: datetime
    credit_status: CreditStatus = CreditStatus.UNKNOWN
    balance: Decimal | None = None
    currency: str | None = None  # ISO 4217
    open_invoices: int | None = None
    order_count: int | None = None
    lifetime_value: Decimal | None = None
    last_order_date: date | None = None
    # ERP freshness (gateway.erp): these figures are the ERP's as of confirmed_at; they last
    # changed at changed_at.
    confirmed_at: datetime | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """The person's account at the source (CPEX 1.1)."""

    login: str | None = None
    enabled: bool | None = None
    created: datetime | None = None
    last_login: datetime | None = None


@dataclass(frozen=True, slots=True)
class CustomAttribute:
    """A deployment's own field (CPEX 1.1): declared in the settings (``[attributes.NAME]``:
    type, data category, searchable), its value in its canonical text form; a multi-valued
    attribute is one item per value."""

    name: str
    value: str


AttributeType = Literal["text", "integer", "decimal", "boolean", "date", "datetime"]


@dataclass(frozen=True, slots=True)
class AttributeDeclaration:
    """A custom attribute a deployment declares (settings ``[attributes.NAME]``)."""

    name: str
    type: AttributeType = "text"
    category: DataCategory = DataCategory.PREFERENCE
    searchable: bool = False
    many: bool = False


@dataclass(frozen=True, slots=True)
class Metadata:
    source: str
    created: datetime | None = None
    updated: datetime | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class Profile:
    """One customer as one source (or the golden record) sees it.

    Exactly one of ``person`` and ``organization`` is set.
    """

    identifiers: tuple[Identifier, ...] = field(default=(), metadata=IDENTITY)
    person: Person | None = None
    organization: Organization | None = None
    addresses: tuple[PostalAddress, ...] = field(default=(), metadata=CONTACT)
    emails: tuple[Email, ...] = field(default=(), metadata=CONTACT)
    phones: tuple[Phone, ...] = field(default=(), metadata=CONTACT)
    web: tuple[WebPresence, ...] = field(default=(), metadata=ONLINE)
    preferences: Preferences | None = field(default=None, metadata=PREFERENCE)
    consents: tuple[Consent, ...] = ()
    financial: FinancialSummary | None = field(default=None, metadata=FINANCIAL)
    segments: tuple[str, ...] = field(default=(), metadata=PREFERENCE)
    account: Account | None = field(default=None, metadata=ONLINE)  # CPEX 1.1
    # CPEX 1.1; each declared attribute has its own data category (settings)
    attributes: tuple[CustomAttribute, ...] = ()
    metadata: Metadata | None = None
    id: str | None = None  # golden profile id, when the profile is stored

    @property
    def display_name(self) -> str:
        if self.person is not None:
            parts = (self.person.given_name, self.person.family_name)
            return " ".join(p for p in parts if p) or "(no name)"
        if self.organization is not None:
            return self.organization.name
        return "(no name)"
