"""CPEX in/out round trip (against the hand-written codec too) and partner XML validity."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from lxml import etree

from gateway.mapping import CompiledMapping, load_mapping
from gateway.model import Profile
from gateway.model.xmlcodec import PROFILE_TAG, profile_from_element, profile_to_element
from gateway.xml.parser import parse_bytes, parse_file
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import MAPPINGS, REPO
from tests.model.strategies import profiles

EXAMPLES = [
    path for path in sorted((REPO / "schemas" / "examples").glob("valid-*.xml"))
    if parse_file(path).getroot().tag == PROFILE_TAG  # profiles, not exchange envelopes
]


@pytest.fixture(scope="module")
def cpex(schemas: SchemaRegistry) -> tuple[CompiledMapping, CompiledMapping]:
    return (load_mapping(MAPPINGS / "cpex-in.yaml", schemas=schemas),
            load_mapping(MAPPINGS / "cpex-out.yaml", schemas=schemas))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_cpex_examples_round_trip(example: Path,
                                  cpex: tuple[CompiledMapping, CompiledMapping]) -> None:
    inbound, outbound = cpex
    element = parse_file(example).getroot()
    profile = inbound.map(element)
    assert profile == profile_from_element(element)
    written = outbound.map(profile)
    assert outbound.writer.issues(written) == []
    assert inbound.map(written) == profile


@settings(max_examples=150, deadline=None)
@given(profile=profiles())
def test_any_profile_round_trips_through_cpex_mappings(
    cpex: tuple[CompiledMapping, CompiledMapping], profile: Profile
) -> None:
    """The mapping files agree with the hand-written CPEX codec on every valid profile."""
    inbound, outbound = cpex
    written = outbound.map(profile)
    assert outbound.writer.issues(written) == []
    assert inbound.map(written) == profile
    assert inbound.map(profile_to_element(profile)) == profile
    # and as a partner sends it: bytes through the hardened parser
    assert inbound.map(parse_bytes(etree.tostring(written)).getroot()) == profile


def test_partner_xml_out_validates_against_its_xsd(schemas: SchemaRegistry) -> None:
    inbound = load_mapping(MAPPINGS / "acme-in.yaml", schemas=schemas)
    outbound = load_mapping(MAPPINGS / "acme-out.yaml", schemas=schemas)
    sample = REPO / "mappings" / "samples" / "acme-customer.xml"
    (record,) = inbound.read_sample(sample)
    profile = inbound.map(record)
    written = outbound.map(profile)
    schemas.validate(written, source="acme-out")  # raises SchemaValidationError if not
    assert inbound.map(written) == profile


def test_partner_xml_out_elements_follow_xsd_order(schemas: SchemaRegistry) -> None:
    """The mapping file lists custom attributes and e-mail before the name; the XSD order wins."""
    outbound = load_mapping(MAPPINGS / "acme-out.yaml", schemas=schemas)
    inbound = load_mapping(MAPPINGS / "cpex-in.yaml", schemas=schemas)
    profile = inbound.map(parse_file(REPO / "schemas" / "examples" /
                                     "valid-person-full.xml").getroot())
    written = outbound.map(profile)
    tags = [child.tag.rpartition("}")[2] for child in written]
    assert tags == ["name", "born", "sex", "address", "address", "email", "email", "phone",
                    "phone", "custom-attributes"]
    schemas.validate(written, source="acme-out")
