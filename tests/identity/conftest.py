"""Identity fixtures: small person profiles built field by field, and stores on either backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine

from gateway.identity import IdentityRules
from gateway.model import Email, Identifier, Person, Phone, PostalAddress, Profile
from gateway.store.profiles import ProfileStore

PersonFactory = Callable[..., Profile]


def person(
    system: str,
    key: str,
    given: str | None,
    family: str | None,
    *,
    email: str | None = None,
    phone: str | None = None,
    birth: date | None = None,
    street: str | None = None,
    postcode: str | None = None,
    city: str | None = "London",
    extra_ids: tuple[tuple[str, str], ...] = (),
) -> Profile:
    """A person with only the fields given (and the record's key in ``system``)."""
    address = (
        (PostalAddress(lines=(street,) if street else (), postal_code=postcode, city=city),)
        if street or postcode
        else ()
    )
    return Profile(
        identifiers=(Identifier(system, key), *(Identifier(s, k) for s, k in extra_ids)),
        person=Person(given_name=given, family_name=family, birth_date=birth),
        addresses=address,
        emails=(Email(email),) if email else (),
        phones=(Phone(phone),) if phone else (),
    )


@pytest.fixture
def make_person() -> PersonFactory:
    return person


@pytest.fixture
def store(migrated_engine: Engine) -> ProfileStore:
    return ProfileStore(migrated_engine)


@pytest.fixture
def rules() -> IdentityRules:
    return IdentityRules()
