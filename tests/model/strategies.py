"""Hypothesis strategies for canonical profiles that CPEX profile format 1.0 can carry.

Each strategy stays inside what the XSD accepts (its patterns and lengths) and what XML 1.0 can
hold: no control characters, no surrogates, no U+FFFE/U+FFFF; texts trimmed and single-line.
Datetimes are aware with whole-minute offsets, decimals have bounded digits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from hypothesis import strategies as st

from gateway.model import (
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

E = TypeVar("E", bound=Enum)

_XML_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs"),  # controls (incl. tab, CR, LF) and lone surrogates
    blacklist_characters="\ufffe\uffff",
)


def text(max_size: int) -> st.SearchStrategy[str]:
    """Trimmed single-line text of 1..max_size characters (the XSD's ``\\S(.*\\S)?``)."""
    return (
        st.text(_XML_CHARS, min_size=1, max_size=max_size).map(str.strip).filter(bool)
    )


def pattern(regex: str) -> st.SearchStrategy[str]:
    return st.from_regex(regex, fullmatch=True)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def tuples(strategy: st.SearchStrategy[Any], max_size: int = 3, **kw: Any) -> Any:
    return st.lists(strategy, max_size=max_size, **kw).map(tuple)


short_texts = text(40)
names = text(100)
long_texts = text(255)
keys = text(128)
system_codes = pattern(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
languages = pattern(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")
countries = pattern(r"[A-Z]{2}")
currencies = pattern(r"[A-Z]{3}")
postal_codes = pattern(r"[0-9A-Za-z]([0-9A-Za-z \-]{0,14}[0-9A-Za-z])?")
emails = pattern(
    r"[A-Za-z0-9_%+'\-]{1,20}(\.[A-Za-z0-9_%+'\-]{1,20}){0,2}"
    r"@([a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?\.){1,3}[a-z]{2,10}"
)
phones = pattern(r"\+[1-9][0-9]{1,14}")
urls = pattern(r"https?://[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,2}\.[a-z]{2,6}(/[A-Za-z0-9._~\-]{0,20}){0,3}")
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)
amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4,
    allow_nan=False, allow_infinity=False,
)
counts = st.integers(min_value=0, max_value=2**31 - 1)


def members(enum: type[E]) -> st.SearchStrategy[E]:
    return st.sampled_from(list(enum))


identifiers = st.builds(Identifier, system=system_codes, key=keys)
employments = st.builds(
    Employment,
    organization_name=optional(long_texts),
    organization_id=optional(keys),
    job_title=optional(names),
    department=optional(names),
)
persons = st.builds(
    Person,
    given_name=optional(names),
    middle_name=optional(names),
    family_name=optional(names),
    prefix=optional(short_texts),
    suffix=optional(short_texts),
    birth_date=optional(dates),
    gender=optional(members(Gender)),
    language=optional(languages),
    employment=optional(employments),
)
contact_persons = st.builds(
    ContactPerson,
    name=optional(names),
    given_name=optional(names),
    family_name=optional(names),
    role=optional(names),
    email=optional(emails),
    phone=optional(phones),
)
organizations = st.builds(
    Organization,
    name=long_texts,
    legal_form=optional(short_texts),
    registration_number=optional(short_texts),
    contacts=tuples(contact_persons),
)
addresses = st.builds(
    PostalAddress,
    type=members(AddressType),
    lines=tuples(long_texts, max_size=4),
    city=optional(names),
    postal_code=optional(postal_codes),
    region=optional(names),
    country=optional(countries),
    id=optional(keys),
    label=optional(names),
    addressee=optional(names),
    company=optional(long_texts),
    phone=optional(phones),
    preferred=optional(st.booleans()),
    valid_from=optional(dates),
    valid_to=optional(dates),
)
email_entries = st.builds(Email, address=emails, type=members(ContactType), primary=st.booleans(),
                          verified=optional(st.booleans()))
phone_entries = st.one_of(
    st.builds(Phone, number=phones, type=members(PhoneType), primary=st.booleans(),
              verified=optional(st.booleans()),
              quality=optional(st.sampled_from([PhoneQuality.VALID, PhoneQuality.POSSIBLE]))),
    # kept as received: no E.164 form, the raw text and its quality
    st.builds(Phone, number=st.none(), raw=long_texts, quality=st.just(PhoneQuality.INVALID),
              type=members(PhoneType)),
)
accounts = st.builds(
    Account,
    login=optional(long_texts),
    enabled=optional(st.booleans()),
    created=optional(aware_datetimes),
    last_login=optional(aware_datetimes),
)
custom_attributes = st.builds(
    CustomAttribute,
    name=pattern(r"[A-Za-z_][A-Za-z0-9_.\-]{0,20}"),
    value=st.text(_XML_CHARS, min_size=1, max_size=50).filter(lambda v: v.strip() == v and v),
)
web_entries = st.builds(WebPresence, url=urls, type=members(WebType))
preferences = st.builds(
    Preferences,
    channels=tuples(
        st.builds(ChannelPreference, channel=members(Channel), opted_in=st.booleans()),
        max_size=5,
        unique_by=lambda c: c.channel,  # the XSD's UniqueChannel
    ),
    interests=tuples(names),
)
consents = st.builds(
    Consent,
    purpose=members(Purpose),
    recipient=members(Recipient),
    status=members(ConsentStatus),
    given=aware_datetimes,
    expires=optional(aware_datetimes),
    source=optional(names),
)
financial_summaries = st.builds(
    FinancialSummary,
    as_of=aware_datetimes,
    credit_status=members(CreditStatus),
    balance=optional(amounts),
    currency=optional(currencies),
    open_invoices=optional(counts),
    order_count=optional(counts),
    lifetime_value=optional(amounts),
    last_order_date=optional(dates),
)
metadata = st.builds(
    Metadata,
    source=names,
    created=optional(aware_datetimes),
    updated=optional(aware_datetimes),
    version=st.integers(min_value=1, max_value=10**6),
)


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    """A profile of a person or an organization (exactly one), every part possibly present."""
    is_person = draw(st.booleans())
    return Profile(
        identifiers=draw(
            tuples(identifiers, max_size=3, min_size=1, unique_by=lambda i: (i.system, i.key))
        ),
        person=draw(persons) if is_person else None,
        organization=None if is_person else draw(organizations),
        addresses=draw(tuples(addresses)),
        emails=draw(tuples(email_entries)),
        phones=draw(tuples(phone_entries)),
        web=draw(tuples(web_entries)),
        preferences=draw(optional(preferences)),
        consents=draw(tuples(consents)),
        financial=draw(optional(financial_summaries)),
        segments=draw(tuples(names)),
        account=draw(optional(accounts)),
        attributes=draw(tuples(custom_attributes)),
        metadata=draw(optional(metadata)),
        id=draw(optional(keys)),
    )
