"""CPEX profile format 1.1: every 1.0 document stays valid, the 1.1 additions validate and
survive the XML and dict codecs, and the registry validates with 1.1 by default."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings

from gateway.model import (
    Account,
    ContactPerson,
    CustomAttribute,
    Email,
    Employment,
    Identifier,
    Organization,
    Person,
    Phone,
    PhoneQuality,
    PostalAddress,
    Profile,
    from_dict,
    to_dict,
)
from gateway.model.namespaces import CPEX_PROFILE_NS
from gateway.model.xmlcodec import profile_from_element, profile_to_element
from gateway.xml import parse_file
from gateway.xml.schemas import SchemaRegistry
from tests.model.conftest import EXAMPLES_DIR
from tests.model.strategies import profiles

FULL_11 = Profile(
    identifiers=(Identifier("shop", "00004711"),),
    person=Person(given_name="Anna", family_name="Berg", employment=Employment(
        organization_name="Nordwind GmbH", organization_id="C-77", job_title="Buyer",
        department="Purchasing")),
    addresses=(PostalAddress(lines=("Hauptstr. 5",), city="Berlin", country="DE", id="home",
                             label="Home", addressee="A. Berg", company="Nordwind GmbH",
                             phone="+4930123456", preferred=True,
                             valid_from=date(2024, 1, 1), valid_to=date(2026, 12, 31)),),
    emails=(Email("anna@example.org", primary=True, verified=True),),
    phones=(Phone("+4917612345678", verified=False, quality=PhoneQuality.VALID),
            Phone(None, raw="0049 (0) 30 / 12", quality=PhoneQuality.INVALID)),
    account=Account(login="anna@example.org", enabled=True,
                    created=datetime(2020, 5, 1, 10, 0, tzinfo=UTC),
                    last_login=datetime(2026, 2, 28, 18, 30, tzinfo=UTC)),
    attributes=(CustomAttribute("loyalty_tier", "gold"), CustomAttribute("interests", "golf"),
                CustomAttribute("interests", "sailing")),
)

ORGANIZATION_11 = Profile(
    identifiers=(Identifier("erp", "K-1"),),
    organization=Organization("Nordwind GmbH", contacts=(
        ContactPerson("Anna", "Berg", role="Buyer", email="anna@nordwind.example",
                      phone="+4930123456"),
        ContactPerson(family_name="Holm"),
    )),
)


@pytest.mark.parametrize("profile", [FULL_11, ORGANIZATION_11], ids=["person", "organization"])
def test_a_11_profile_validates_and_round_trips(registry: SchemaRegistry,
                                                profile: Profile) -> None:
    element = profile_to_element(profile)
    assert registry.validate(element).version == "1.1"
    assert profile_from_element(element) == profile
    assert from_dict(Profile, to_dict(profile)) == profile


def test_a_11_profile_is_not_a_10_document(registry: SchemaRegistry) -> None:
    """1.1 really adds: a 1.0 validator refuses the new elements (and still can be asked for)."""
    issues = registry.validator(CPEX_PROFILE_NS, "1.0").issues(profile_to_element(FULL_11))
    assert issues and "Employment" in issues[0].message


@pytest.mark.parametrize("path", sorted(EXAMPLES_DIR.glob("valid-*.xml")), ids=lambda p: p.name)
def test_every_10_example_is_valid_11(registry: SchemaRegistry, path: object) -> None:
    document = parse_file(path)  # type: ignore[arg-type]
    registry.validate(document)  # the newest versions: profile 1.1 (through the exchange)


def test_a_phone_kept_raw_needs_no_e164_text(registry: SchemaRegistry) -> None:
    element = profile_to_element(FULL_11)
    phones = element.findall(f"{{{CPEX_PROFILE_NS}}}Phones/{{{CPEX_PROFILE_NS}}}Phone")
    assert [(p.text, p.get("raw"), p.get("quality")) for p in phones] == [
        ("+4917612345678", None, "valid"), ("", "0049 (0) 30 / 12", "invalid")]


def test_new_fields_left_empty_change_no_10_document() -> None:
    """A 1.0 profile's dict form (what the store hashes) is the same as before 1.1: the new
    fields are all empty by default and left out."""
    plain = Profile(identifiers=(Identifier("shop", "1"),), person=Person(family_name="Berg"),
                    phones=(Phone("+4930123456"),), emails=(Email("a@example.org"),),
                    addresses=(PostalAddress(city="Berlin"),))
    assert to_dict(plain) == {
        "identifiers": [{"system": "shop", "key": "1"}], "person": {"family_name": "Berg"},
        "addresses": [{"type": "home", "city": "Berlin"}],
        "emails": [{"address": "a@example.org", "type": "personal", "primary": False}],
        "phones": [{"number": "+4930123456", "type": "mobile", "primary": False}],
    }


@settings(max_examples=60, deadline=None)
@given(profiles())
def test_any_profile_validates_against_11_and_round_trips(profile: Profile) -> None:
    registry = _registry()
    element = profile_to_element(profile)
    assert registry.validator(CPEX_PROFILE_NS).issues(element) == []
    assert profile_from_element(element) == profile


def _registry() -> SchemaRegistry:
    from tests.model.conftest import SCHEMAS_DIR

    return SchemaRegistry(SCHEMAS_DIR)
