"""``preview``: the output, every problem (mapping, model, target schema) and the per-field
trace, for one record; ``map`` raises on the first problem instead."""

from __future__ import annotations

import pytest

from gateway.mapping import FieldTrace, MappingFailure, load_mapping
from gateway.model import to_dict
from gateway.xml.parser import parse_bytes
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import MAPPINGS, WriteMapping

ACME = b"""<acme:customer xmlns:acme="urn:acme:crm:2" customer-id="A-1" modified="01.02.2024">
  <acme:name first=" Eva " last="Dvorak"/>
  <acme:born>31.12.1999</acme:born>
  <acme:sex>X</acme:sex>
  <acme:address kind="H"><acme:street>Na Pankraci 1</acme:street><acme:town>Praha</acme:town>
    <acme:country>CZE</acme:country></acme:address>
  <acme:address kind="W"><acme:street>Karlova 2</acme:street><acme:town>Brno</acme:town>
    <acme:country>ZZZ</acme:country></acme:address>
</acme:customer>"""


def _by_target(traces: list[FieldTrace]) -> dict[str, FieldTrace]:
    return {t.target: t for t in traces}


def test_trace_shows_source_transforms_and_value(schemas: SchemaRegistry) -> None:
    mapping = load_mapping(MAPPINGS / "acme-in.yaml", schemas=schemas)
    result = mapping.preview(parse_bytes(ACME).getroot())
    traces = _by_target(result.trace)
    given = traces["person.given_name"]
    assert (given.source, given.raw, given.steps, given.value) == (
        "acme:name/@first", " Eva ", (("trim", "Eva"),), "Eva"
    )
    born = traces["person.birth_date"]
    assert born.steps == (("date", "1999-12-31"),)
    assert traces["addresses[0].country"].value == "CZ"
    assert traces["identifiers[0].system"].source is None  # a constant
    assert str(given) == "person.given_name <- acme:name/@first = ' Eva ' | trim -> 'Eva' => 'Eva'"


def test_preview_collects_failures_and_still_maps_the_rest(schemas: SchemaRegistry) -> None:
    mapping = load_mapping(MAPPINGS / "acme-in.yaml", schemas=schemas)
    result = mapping.preview(parse_bytes(ACME).getroot())
    assert [(e.kind, e.field) for e in result.errors] == [("mapping", "addresses[1].country")]
    assert "not an ISO 3166 country (alpha3)" in result.errors[0].message
    failed = _by_target(result.trace)["addresses[1].country"]
    assert failed.error == "not an ISO 3166 country (alpha3)" and failed.value is None
    assert result.output is not None
    assert to_dict(result.output)["person"]["gender"] == "unknown"  # code list default
    assert len(result.output.addresses) == 2


def test_map_raises_with_field_and_source_but_no_value(schemas: SchemaRegistry) -> None:
    mapping = load_mapping(MAPPINGS / "acme-in.yaml", schemas=schemas)
    with pytest.raises(MappingFailure) as caught:
        mapping.map(parse_bytes(ACME).getroot())
    error = caught.value
    assert (error.mapping, error.field, error.source) == (
        "acme-in", "addresses[1].country", "acme:country"
    )
    assert "ZZZ" not in str(error)  # no record values in messages
    assert error.code == "mapping_failed"


def test_model_errors_are_reported(write_mapping: WriteMapping) -> None:
    path = write_mapping("""
        version: 1
        direction: inbound
        source: {format: json}
        target: {format: canonical}
        fields:
          - {target: person.gender, source: sex}
          - target: emails
            fields:
              - {target: primary, value: true}
        """)
    mapping = load_mapping(path)
    result = mapping.preview({"sex": "robot"})
    assert [(e.kind, e.field) for e in result.errors] == [("model", "Profile.person.gender")]
    assert "expected one of female, male, diverse, unknown" in result.errors[0].message
    with pytest.raises(MappingFailure, match=r"Profile\.person\.gender"):
        mapping.map({"sex": "robot"})
    with pytest.raises(MappingFailure, match=r"Profile\.emails\[0\]\.address: required field"):
        mapping.map({"sex": "female"})


def test_canonical_output_is_validated_against_the_cpex_schema(
    write_mapping: WriteMapping, schemas: SchemaRegistry
) -> None:
    path = write_mapping("""
        version: 1
        direction: inbound
        source: {format: json}
        target: {format: canonical}
        fields:
          - {target: person.given_name, source: name}
        """)
    result = load_mapping(path, schemas=schemas).preview({"name": "Eva"})
    assert result.output is not None
    assert [e.kind for e in result.errors] == ["schema"]  # CPEX requires Identifiers
    assert "Identifiers" in result.errors[0].message


def test_xml_output_is_validated_against_the_target_schema(
    write_mapping: WriteMapping, schemas: SchemaRegistry
) -> None:
    path = write_mapping("""
        version: 1
        direction: outbound
        source: {format: canonical}
        target:
          format: xml
          schema: "urn:acme:crm:2"
          root: acme:customer
          namespaces: {acme: "urn:acme:crm:2"}
        fields:
          - {target: acme:sex, source: person.gender}
        """)
    mapping = load_mapping(path, schemas=schemas)
    result = mapping.preview({"person": {"gender": "female"}})
    assert {e.kind for e in result.errors} == {"schema"}
    assert all(e.field and e.field.startswith("/customer") for e in result.errors)
    messages = " ".join(e.message for e in result.errors)
    assert "customer-id" in messages and "[facet 'enumeration']" in messages
    assert "female" not in messages  # schema messages never quote values (the output shows it)
