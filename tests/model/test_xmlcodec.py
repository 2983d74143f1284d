"""The profile XML codec: property round trip through the XSD, errors with paths, coverage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from lxml import etree

from gateway.errors import ModelError
from gateway.model import (
    Consent,
    ConsentStatus,
    Identifier,
    Organization,
    Person,
    Profile,
    Purpose,
    Recipient,
)
from gateway.model.envelope import ENVELOPE_RECORDS
from gateway.model.namespaces import CPEX_PROFILE_NS
from gateway.model.xmlcodec import (
    DECIMAL,
    PROFILE_RECORDS,
    PROFILE_TAG,
    profile_from_element,
    profile_to_bytes,
    profile_to_element,
)
from gateway.xml import parse_bytes
from gateway.xml.schemas import SchemaRegistry
from tests.model.strategies import profiles

NS = f"{{{CPEX_PROFILE_NS}}}"
UTC = UTC


@settings(max_examples=200, deadline=None)
@given(profile=profiles())
def test_profile_round_trips_through_the_xsd(registry: SchemaRegistry, profile: Profile) -> None:
    element = profile_to_element(profile)
    registry.validate(element)
    assert profile_from_element(element) == profile
    # and through bytes and the hardened parser, as a partner would receive it
    assert profile_from_element(parse_bytes(profile_to_bytes(profile)).getroot()) == profile


def test_profile_element_uses_the_cpex_prefix_and_xsd_order() -> None:
    profile = Profile(
        identifiers=(Identifier("erp", "1"),),
        person=Person(family_name="Visser"),
        consents=(Consent(Purpose.CONTACT, Recipient.OURS, ConsentStatus.GRANTED,
                          datetime(2024, 1, 1, tzinfo=UTC)),),
        segments=("vip",),
        id="gp-1",
    )
    element = profile_to_element(profile)
    assert element.prefix == "cpex" and element.tag == PROFILE_TAG
    assert [etree.QName(c).localname for c in element] == [
        "Identifiers", "Person", "Consents", "Segments",
    ]
    assert element.get("id") == "gp-1"


def test_child_profile_declares_no_namespace_of_its_own() -> None:
    batch = etree.Element("{urn:cpex:exchange:1.0}Batch", nsmap={"cpex": CPEX_PROFILE_NS})
    profile = Profile(identifiers=(Identifier("erp", "1"),), person=Person())
    child = profile_to_element(profile, batch)
    assert child.getparent() is batch
    assert etree.tostring(batch).count(b"xmlns:cpex=") == 1  # declared once, on the batch


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("12.50"), "12.50"), (Decimal("4273.00"), "4273.00"), (Decimal("1E+3"), "1000"),
     (Decimal("-0.0000"), "-0.0000"), (Decimal("0.0001"), "0.0001")],
)
def test_decimals_are_written_in_plain_notation_with_their_own_scale(value: Decimal,
                                                                    text: str) -> None:
    """As JSON writes them: an amount of 4273.00 is 4273.00 in XML too, not 4273."""
    assert DECIMAL.dump(value) == text


# --- errors carry the element path ------------------------------------------------------------


def _minimal(**person: str) -> bytes:
    fields = "".join(f"<cpex:{k}>{v}</cpex:{k}>" for k, v in person.items())
    return (
        f'<cpex:Profile xmlns:cpex="{CPEX_PROFILE_NS}"><cpex:Identifiers>'
        '<cpex:Identifier system="erp" key="1"/><cpex:Identifier system="web" key="2"/>'
        f"</cpex:Identifiers><cpex:Person>{fields}</cpex:Person></cpex:Profile>"
    ).encode()


def test_bad_enum_value_names_the_element_not_the_value() -> None:
    root = parse_bytes(_minimal(Gender="robot")).getroot()
    with pytest.raises(ModelError) as raised:
        profile_from_element(root)
    assert raised.value.path == "/Profile/Person/Gender"
    assert "robot" not in str(raised.value)
    assert "female" in raised.value.reason  # says what was expected


def test_bad_attribute_path_has_index_and_attribute() -> None:
    root = parse_bytes(_minimal()).getroot()
    root[0][1].attrib.pop("key")
    with pytest.raises(ModelError) as raised:
        profile_from_element(root)
    assert raised.value.path == "/Profile/Identifiers/Identifier[2]"
    assert "@key" in raised.value.reason


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: etree.SubElement(r[1], NS + "Nickname"), "/Profile/Person/Nickname"),
        (lambda r: r[0][0].set("primary", "true"), "/Profile/Identifiers/Identifier[1]/@primary"),
        (lambda r: r.remove(r[1]), "/Profile"),  # neither Person nor Organization
        (lambda r: etree.SubElement(r[1], NS + "BirthDate").__setattr__("text", "23.04.1979"),
         "/Profile/Person/BirthDate"),
    ],
    ids=["unknown element", "unknown attribute", "no person", "bad date"],
)
def test_unconvertible_documents_raise_model_error(mutate: object, path: str) -> None:
    root = parse_bytes(_minimal()).getroot()
    mutate(root)  # type: ignore[operator]
    with pytest.raises(ModelError) as raised:
        profile_from_element(root)
    assert raised.value.path == path
    assert str(raised.value).startswith(path + ": ")


def test_wrong_root_element_is_refused() -> None:
    with pytest.raises(ModelError, match="expected a Profile"):
        profile_from_element(etree.Element("{urn:other}Profile"))


def test_naive_datetime_cannot_be_written() -> None:
    consent = Consent(Purpose.CONTACT, Recipient.OURS, ConsentStatus.GRANTED, datetime(2024, 1, 1))
    profile = Profile(identifiers=(Identifier("erp", "1"),), person=Person(), consents=(consent,))
    with pytest.raises(ModelError) as raised:
        profile_to_element(profile)
    assert raised.value.path == "/Profile/Consents/Consent/Given"


def test_both_person_and_organization_cannot_be_written() -> None:
    profile = Profile(person=Person(), organization=Organization("Acme"))
    with pytest.raises(ModelError, match="exactly one of Person or Organization"):
        profile_to_element(profile)


def test_offset_with_seconds_is_written_in_utc(registry: SchemaRegistry) -> None:
    lmt = timezone(timedelta(minutes=19, seconds=32))  # Amsterdam mean time, before 1937
    given = datetime(1930, 5, 1, 12, 0, tzinfo=lmt)
    consent = Consent(Purpose.CONTACT, Recipient.OURS, ConsentStatus.GRANTED, given)
    profile = Profile(
        identifiers=(Identifier("erp", "1"),), person=Person(birth_date=date(1900, 1, 1)),
        consents=(consent,),
    )
    element = profile_to_element(profile)
    registry.validate(element)
    assert profile_from_element(element).consents[0].given == given  # same instant


# --- coverage: a new model field cannot be silently dropped by the codec ----------------------


@pytest.mark.parametrize(
    "record", PROFILE_RECORDS + ENVELOPE_RECORDS, ids=lambda r: r.cls.__name__
)
def test_record_maps_every_field_of_its_class(record: object) -> None:
    fields = {f.name for f in dataclasses.fields(record.cls)}  # type: ignore[attr-defined]
    assert record.fields == fields  # type: ignore[attr-defined]
