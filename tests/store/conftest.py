"""Store fixtures: sample profiles and a store on a migrated database (either backend)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from gateway.model import (
    AddressType,
    Channel,
    ChannelPreference,
    Consent,
    ConsentStatus,
    ContactType,
    CreditStatus,
    Email,
    FinancialSummary,
    Gender,
    Identifier,
    Metadata,
    Person,
    Phone,
    PhoneType,
    PostalAddress,
    Preferences,
    Profile,
    Purpose,
    Recipient,
    WebPresence,
    WebType,
)
from gateway.store.profiles import ProfileStore

ProfileFactory = Callable[..., Profile]


OTHER_PEOPLE = (
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Donald", "Knuth"),
    ("Frances", "Allen"),
)


def build_profile(*identifiers: tuple[str, str], given_name: str = "Ada", who: int = 0) -> Profile:
    """A profile that uses every part of the model, with the given identifiers.

    ``who`` other than 0 makes another person (name, birth date, address, e-mail and phones all
    differ), whom identity resolution must not match with Ada.
    """
    profile = _ada(identifiers, given_name)
    if who == 0:
        return profile
    given, family = OTHER_PEOPLE[(who - 1) % len(OTHER_PEOPLE)]
    assert profile.person is not None
    return dataclasses.replace(
        profile,
        person=dataclasses.replace(
            profile.person,
            given_name=f"{given}{'' if who <= len(OTHER_PEOPLE) else who}",
            middle_name=None,
            family_name=family,
            birth_date=date(1900 + who, 1 + who % 12, 1 + who % 28),
        ),
        addresses=(PostalAddress(lines=(f"{who} Other Street",), postal_code=f"ZZ{who} 1AA"),),
        emails=(Email(f"{given.lower()}.{who}@example.net", primary=True),),
        phones=(Phone(f"+4479460{who:05d}"),),
    )


def _ada(identifiers: tuple[tuple[str, str], ...], given_name: str) -> Profile:
    cet = timezone(timedelta(hours=1))
    return Profile(
        identifiers=tuple(Identifier(system, key) for system, key in identifiers),
        person=Person(
            given_name=given_name,
            middle_name="King",
            family_name="Lovelace",
            prefix="Dr",
            birth_date=date(1815, 12, 10),
            gender=Gender.FEMALE,
            language="en",
        ),
        addresses=(
            PostalAddress(
                type=AddressType.HOME,
                lines=("12 St James's Square", "Flat 2"),
                city="London",
                postal_code="SW1Y 4JH",
                country="GB",
            ),
            PostalAddress(type=AddressType.BILLING, lines=("PO Box 1",), country="GB"),
        ),
        emails=(
            Email("ada@example.org", ContactType.PERSONAL, primary=True),
            Email("ada@work.example", ContactType.WORK),
        ),
        phones=(Phone("+442071234567", PhoneType.LANDLINE), Phone("+447700900123", primary=True)),
        web=(WebPresence("https://example.org/ada", WebType.SOCIAL),),
        preferences=Preferences(
            channels=(
                ChannelPreference(Channel.EMAIL, True),
                ChannelPreference(Channel.SMS, False),
            ),
            interests=("mathematics", "engines"),
        ),
        consents=(
            Consent(
                Purpose.CONTACT,
                Recipient.OURS,
                ConsentStatus.GRANTED,
                given=datetime(2024, 3, 1, 9, 30, tzinfo=cet),
                expires=datetime(2026, 3, 1, tzinfo=UTC),
                source="web-form",
            ),
            Consent(
                Purpose.TELEMARKETING,
                Recipient.OTHER_RECIPIENT,
                ConsentStatus.DENIED,
                given=datetime(2024, 3, 1, 9, 31, 12, 345678, tzinfo=UTC),
            ),
        ),
        financial=FinancialSummary(
            as_of=datetime(2025, 1, 31, 23, 0, tzinfo=UTC),
            credit_status=CreditStatus.GOOD,
            balance=Decimal("1234.50"),
            currency="EUR",
            open_invoices=2,
            order_count=17,
            lifetime_value=Decimal("98765.4321"),
            last_order_date=date(2025, 1, 15),
        ),
        segments=("vip", "b2c"),
        metadata=Metadata(
            source="erp", created=datetime(2020, 5, 4, 3, 2, 1, tzinfo=UTC), version=3
        ),
    )


@pytest.fixture
def make_profile() -> ProfileFactory:
    """:func:`build_profile`, for tests to call with their own identifiers."""
    return build_profile


@pytest.fixture
def store(migrated_engine: Engine) -> ProfileStore:
    return ProfileStore(migrated_engine)
