"""The sample documents in schemas/examples: valid ones validate and survive the codecs, invalid
ones fail for the reason their leading comment gives, and the XSD code lists equal the model's."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import SchemaValidationError
from gateway.model import (
    AddressType,
    Channel,
    ConsentStatus,
    ContactType,
    CreditStatus,
    Gender,
    PhoneQuality,
    PhoneType,
    Purpose,
    Recipient,
    WebType,
)
from gateway.model.envelope import (
    ENVELOPE_TAG,
    Batch,
    Operation,
    ResultStatus,
    envelope_from_element,
    envelope_to_element,
)
from gateway.model.namespaces import CPEX_EXCHANGE_NS, CPEX_PROFILE_NS
from gateway.model.xmlcodec import profile_from_element, profile_to_element
from gateway.xml import parse_file
from gateway.xml.schemas import SchemaRegistry
from tests.model.conftest import EXAMPLES_DIR, SCHEMAS_DIR

VALID = sorted(EXAMPLES_DIR.glob("valid-*.xml"))
INVALID = sorted(EXAMPLES_DIR.glob("invalid-*.xml"))
EXPECTED_VALID = 9  # change these counts on purpose when you add a sample
EXPECTED_INVALID = 10  # a Query without criteria is a rejected-* sample (tests/exchange)
_EXPECTED_AT = re.compile(r"Expected error at (/\S+)")
_PREFIX = re.compile(r"(?<=/)[A-Za-z_][\w.-]*:")


def test_sample_counts() -> None:
    assert (len(VALID), len(INVALID)) == (EXPECTED_VALID, EXPECTED_INVALID)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_sample_validates_and_round_trips(registry: SchemaRegistry, path: Path) -> None:
    root = parse_file(path).getroot()
    registry.validate(root, source=path.name)
    if root.tag == ENVELOPE_TAG:
        decode, encode = envelope_from_element, envelope_to_element
    else:
        decode, encode = profile_from_element, profile_to_element  # type: ignore[assignment]
    value = decode(root)
    again = encode(value)  # type: ignore[arg-type]
    registry.validate(again)
    assert decode(again) == value


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_sample_fails_where_its_comment_says(registry: SchemaRegistry, path: Path) -> None:
    root = parse_file(path).getroot()
    comment = root.getprevious()
    assert isinstance(comment, etree._Comment), "an invalid sample starts with a comment"
    assert comment.getprevious() is None
    expected = _EXPECTED_AT.search(comment.text or "")
    assert expected, "the comment ends with 'Expected error at /path'"
    with pytest.raises(SchemaValidationError) as raised:
        registry.validate(root, source=path.name)
    first = raised.value.issues[0]
    assert _PREFIX.sub("", first.path or "") == expected.group(1)


def test_demo_batch_is_a_varied_upsert(registry: SchemaRegistry) -> None:
    root = parse_file(EXAMPLES_DIR / "demo-batch.xml").getroot()
    registry.validate(root)
    envelope = envelope_from_element(root)
    assert envelope.header.operation is Operation.UPSERT
    assert isinstance(envelope.body, Batch)
    profiles = envelope.body.profiles
    assert 20 <= len(profiles) <= 30
    countries = {a.country for p in profiles for a in p.addresses}
    assert {"DE", "FR", "GB", "NL", "ES", "IT"} <= countries
    statuses = {c.status for p in profiles for c in p.consents}
    assert {ConsentStatus.GRANTED, ConsentStatus.DENIED} <= statuses
    assert any(p.financial for p in profiles) and not all(p.financial for p in profiles)
    assert any(len(p.identifiers) == 2 for p in profiles)
    assert any(p.organization for p in profiles)


# --- the schemas themselves ------------------------------------------------------------------

_XS = "{http://www.w3.org/2001/XMLSchema}"
PROFILE_XSD = SCHEMAS_DIR / "cpex" / "cpex-profile-1.1.xsd"  # the current version
PROFILE_XSD_10 = SCHEMAS_DIR / "cpex" / "cpex-profile-1.0.xsd"
EXCHANGE_XSD = SCHEMAS_DIR / "cpex" / "cpex-exchange-1.0.xsd"
CODE_LISTS: list[tuple[Path, str, type[Enum]]] = [
    (PROFILE_XSD, "GenderCode", Gender),
    (PROFILE_XSD, "AddressTypeCode", AddressType),
    (PROFILE_XSD, "ContactTypeCode", ContactType),
    (PROFILE_XSD, "PhoneTypeCode", PhoneType),
    (PROFILE_XSD, "WebTypeCode", WebType),
    (PROFILE_XSD, "ChannelCode", Channel),
    (PROFILE_XSD, "PurposeCode", Purpose),
    (PROFILE_XSD, "RecipientCode", Recipient),
    (PROFILE_XSD, "ConsentStatusCode", ConsentStatus),
    (PROFILE_XSD, "PhoneQualityCode", PhoneQuality),
    (PROFILE_XSD, "CreditStatusCode", CreditStatus),
    (EXCHANGE_XSD, "OperationCode", Operation),
    (EXCHANGE_XSD, "ResultStatusCode", ResultStatus),
]


@pytest.mark.parametrize(
    ("xsd", "type_name", "enum"), CODE_LISTS, ids=lambda v: getattr(v, "__name__", "")
)
def test_xsd_code_list_equals_model_enum(xsd: Path, type_name: str, enum: type[Enum]) -> None:
    schema = parse_file(xsd).getroot()
    simple = schema.find(f"{_XS}simpleType[@name='{type_name}']")
    assert simple is not None
    values = [e.get("value") for e in simple.iter(f"{_XS}enumeration")]
    assert values == [m.value for m in enum]


def test_every_xsd_code_list_is_checked() -> None:
    checked = {(xsd, name) for xsd, name, _ in CODE_LISTS}
    for xsd in (PROFILE_XSD, EXCHANGE_XSD):
        schema = parse_file(xsd).getroot()
        for simple in schema.iterfind(f"{_XS}simpleType"):
            if simple.find(f".//{_XS}enumeration") is not None:
                assert (xsd, simple.get("name")) in checked


@pytest.mark.parametrize(
    ("xsd", "namespace", "root", "version"),
    [(PROFILE_XSD_10, CPEX_PROFILE_NS, "Profile", "1.0"),
     (PROFILE_XSD, CPEX_PROFILE_NS, "Profile", "1.1"),
     (EXCHANGE_XSD, CPEX_EXCHANGE_NS, "Envelope", "1.0")],
)
def test_schema_identity(registry: SchemaRegistry, xsd: Path, namespace: str, root: str,
                         version: str) -> None:
    schema = parse_file(xsd).getroot()
    assert (schema.get("targetNamespace"), schema.get("version")) == (namespace, version)
    assert schema.get("elementFormDefault") == "qualified"
    assert [e.get("name") for e in schema.iterfind(f"{_XS}element")] == [root]
    assert registry.entry(namespace, version).path == xsd.resolve()
