"""The mapping language's record-level and run-time features, driven through mapping files:
record operations, run-time values, per-record phone regions, field failure policies, the
``when``/``on_missing`` rule and aggregates over repeated children."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from gateway.mapping import MappingFailure, MappingFileInvalid, check_mapping, load_mapping
from gateway.mapping.check import lint_mapping
from gateway.mapping.record import Operation, RunValues
from gateway.model.profile import AttributeDeclaration
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import WriteMapping

CSV_HEAD = """
version: 1
direction: inbound
source:
  format: csv
  columns: [ID, STATUS, GIVEN, PHONE, COUNTRY, LANG, TIER]
target:
  format: canonical
"""

ID_FIELD = """
  - target: identifiers
    fields:
      - {target: system, value: erp}
      - {target: key, source: ID}
"""


def csv_mapping(write: WriteMapping, schemas: SchemaRegistry, body: str) -> object:
    return load_mapping(write(CSV_HEAD + body), schemas=schemas)


# --- record operations ---------------------------------------------------------------------------

OPERATIONS = (
    """
operations:
  - if: {source: STATUS, op: eq, value: D}
    do: erase
  - if: {source: STATUS, op: in, values: [X, Z]}
    do: skip
    reason: closed in the ERP
  - if: {source: GIVEN, op: empty}
    do: reject
    reason: a customer needs a given name
fields:
"""
    + ID_FIELD
    + """
  - {target: person.given_name, source: GIVEN}
  - {target: person.language, source: LANG, transforms: [{regex_extract: '^([a-z]{2})$'}]}
"""
)


def test_operations_choose_upsert_erase_skip_or_reject_by_the_first_rule_that_matches(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, OPERATIONS)
    upsert = mapping.apply({"ID": "1", "STATUS": "A", "GIVEN": "Anna"})
    assert upsert.operation is Operation.UPSERT and upsert.output.person.given_name == "Anna"
    erase = mapping.apply({"ID": "2", "STATUS": "D", "GIVEN": ""})
    assert erase.operation is Operation.ERASE
    assert [(i.system, i.key) for i in erase.output.identifiers] == [("erp", "2")]
    skip = mapping.apply({"ID": "3", "STATUS": "Z", "GIVEN": "Bo"})
    assert (skip.operation, skip.output, skip.reason) == (Operation.SKIP, None, "closed in the ERP")
    reject = mapping.apply({"ID": "4", "STATUS": "A", "GIVEN": " "})
    assert (reject.operation, reject.reason) == (Operation.REJECT, "a customer needs a given name")
    # a missing STATUS matches no comparison: the record is upserted, never erased by accident
    assert mapping.apply({"ID": "5", "GIVEN": "Cy"}).operation is Operation.UPSERT


def test_an_erase_record_maps_leniently_and_map_refuses_anything_but_upsert(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(
        write_mapping,
        schemas,
        OPERATIONS.replace("regex_extract: '^([a-z]{2})$'", "date: {from: '%d.%m.%Y'}"),
    )
    # the date fails, but an erase only needs the record's identifiers
    erased = mapping.apply({"ID": "2", "STATUS": "D", "LANG": "not a date"})
    assert erased.operation is Operation.ERASE and erased.output.person is None
    with pytest.raises(MappingFailure, match="the record asks to skip: closed in the ERP"):
        mapping.map({"ID": "3", "STATUS": "X", "GIVEN": "Bo"})
    with pytest.raises(MappingFailure, match="not a date"):
        mapping.map({"ID": "1", "STATUS": "A", "GIVEN": "Anna", "LANG": "x"})


def test_preview_shows_the_operation_and_its_reason(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, OPERATIONS)
    result = mapping.preview({"ID": "3", "STATUS": "X", "GIVEN": "Bo"})
    assert (result.operation, result.reason, result.errors) == ("skip", "closed in the ERP", [])


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("  - {do: skip}\n", "'do: skip' needs a 'reason'"),
        ("  - {do: delete}\n", "expected one of upsert, erase, skip, reject"),
        ("  - {if: {source: NOPE, op: eq, value: D}, do: erase}\n", "column 'NOPE' is not in"),
        ("  - {if: {source: STATUS, op: like, value: D}, do: erase}\n", "expected one of eq"),
        ("  - {if: {source: STATUS, op: in}, do: erase}\n", "needs 'values'"),
        ("  - {if: {source: STATUS}, do: erase}\n", "the key 'op' is required"),
    ],
)
def test_bad_operation_rules_are_check_errors_with_their_place(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
    rules: str,
    message: str,
) -> None:
    path = write_mapping(CSV_HEAD + "operations:\n" + rules + "fields:\n" + ID_FIELD)
    errors = check_mapping(path, schemas=schemas)
    assert errors and message in str(errors[0]), errors
    assert errors[0].line is not None and errors[0].key.startswith("operations[0]")


# --- run-time values -----------------------------------------------------------------------------

RUNTIME = (
    """
fields:
"""
    + ID_FIELD
    + """
  - target: consents
    fields:
      - {target: purpose, value: contact}
      - {target: recipient, value: ours}
      - {target: status, value: granted}
      - {target: given, runtime: import_time}
      - {target: source, runtime: partner_id}
  - target: metadata
    fields:
      - {target: source, runtime: source_system}
  - {target: segments, runtime: file_name}
"""
)


def test_run_time_values_come_from_the_batch(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, RUNTIME)
    run = RunValues(
        import_time=datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
        message_id="m-1",
        source_system="erp",
        file_name="customers.csv",
        partner_id="acme",
    )
    profile = mapping.map({"ID": "1"}, run)
    assert profile.consents[0].given == run.import_time
    assert profile.consents[0].source == "acme"
    assert profile.metadata.source == "erp"
    assert profile.segments == ("customers.csv",)
    # without a batch (a bare map) run-time values are missing, and so is what needs them
    with pytest.raises(MappingFailure, match="given"):
        mapping.map({"ID": "1"})


def test_runtime_names_are_checked_and_exclusive_with_source(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    bad = write_mapping(CSV_HEAD + "fields:\n  - {target: segments, runtime: today}\n")
    assert "expected one of import_time" in str(check_mapping(bad, schemas=schemas)[0])
    both = write_mapping(
        CSV_HEAD + "fields:\n  - {target: segments, source: ID, runtime: file_name}\n"
    )
    assert "not source and runtime" in str(check_mapping(both, schemas=schemas)[0])


# --- phone region from the record ----------------------------------------------------------------

PHONES = (
    """
fields:
"""
    + ID_FIELD
    + """
  - target: phones
    require: [number]
    fields:
      - target: number
        source: PHONE
        transforms: [{phone: {region_from: COUNTRY, region: DE}}]
"""
)


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("030 1234 56", "DE", "+4930123456"),
        ("020 7946 0958", "United Kingdom", "+442079460958"),
        ("01 42 68 53 00", "FRA", "+33142685300"),
        ("(212) 555-0143", "USA", "+12125550143"),
        ("030 1234 56", "", "+4930123456"),  # no country: the fallback region
        ("030 1234 56", "Atlantis", "+4930123456"),  # not a country: the fallback
        ("+420 603 123 456", "DE", "+420603123456"),  # a country code wins
    ],
)
def test_phone_reads_the_region_from_a_field_of_the_same_record(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
    phone: str,
    country: str,
    expected: str,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, PHONES)
    profile = mapping.map({"ID": "1", "PHONE": phone, "COUNTRY": country})
    assert profile.phones[0].number == expected


XML_PHONES = """
version: 1
direction: inbound
source:
  format: xml
  namespaces: {s: "urn:shop"}
  record: s:customer
target:
  format: canonical
fields:
  - target: identifiers
    fields:
      - {target: system, value: shop}
      - {target: key, source: "@no"}
  - target: phones
    source: s:phone
    fields:
      - target: number
        source: "."
        transforms: [{phone: {region_from: "../s:address[1]/s:country", region: DE}}]
  - {target: segments, source: s:tag, transforms: [{join: "+"}]}
  - {target: person.given_name, source: s:order/@total, transforms: [sum]}
  - {target: person.family_name, source: s:order, transforms: [count]}
  - {target: person.middle_name, source: s:order/@date, transforms: [max]}
  - {target: person.prefix, source: s:order/@date, transforms: [first]}
  - {target: person.suffix, source: s:order/@date, transforms: [last]}
"""

SHOP_RECORD = b"""<customer xmlns="urn:shop" no="7">
  <address><country>GB</country></address><address><country>FR</country></address>
  <phone>020 7946 0958</phone><phone>07700 900123</phone>
  <tag>vip</tag><tag>b2b</tag>
  <order total="12.50" date="2024-03-01"/><order total="7.50" date="2023-11-30"/>
</customer>"""


def test_xml_phones_take_the_record_country_and_aggregates_read_every_child(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = load_mapping(write_mapping(XML_PHONES), schemas=schemas)
    profile = mapping.map(etree.fromstring(SHOP_RECORD))
    assert [p.number for p in profile.phones] == ["+442079460958", "+447700900123"]
    assert profile.segments == ("vip+b2b",)
    person = profile.person
    assert (person.given_name, person.family_name) == ("20.00", "2")
    assert (person.middle_name, person.prefix, person.suffix) == (
        "2024-03-01",
        "2024-03-01",
        "2023-11-30",
    )


def test_a_record_country_does_not_leak_into_the_next_record(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    """Results of a phone that reads its region from the record are never kept per value."""
    mapping = csv_mapping(write_mapping, schemas, PHONES)
    first = mapping.map({"ID": "1", "PHONE": "020 7946 0958", "COUNTRY": "GB"})
    second = mapping.map({"ID": "2", "PHONE": "020 7946 0958", "COUNTRY": "DE"})
    assert (first.phones[0].number, second.phones[0].number) == ("+442079460958", "+492079460958")


# --- field failure policies ----------------------------------------------------------------------

POLICIES = (
    """
fields:
"""
    + ID_FIELD
    + """
  - target: person.given_name
    source: GIVEN
    transforms: [{regex_extract: '^([A-Z][a-z]+)$'}, {case: upper}, {code: tiers}]
    on_error: {policy}
  - {target: person.family_name, value: Berg}
code_lists:
  tiers: {values: {ANNA: Anna}, unknown: error}
"""
)


def test_reject_record_is_the_default_and_fails_the_record(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, POLICIES.replace("{policy}", "reject_record"))
    with pytest.raises(MappingFailure, match=r"person\.given_name.*code is not in code list"):
        mapping.map({"ID": "1", "GIVEN": "Bert"})


def test_drop_field_leaves_the_field_out_with_a_warning(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, POLICIES.replace("{policy}", "drop_field"))
    mapped = mapping.apply({"ID": "1", "GIVEN": "Bert"})
    assert mapped.operation is Operation.UPSERT
    assert mapped.output.person.given_name is None and mapped.output.person.family_name == "Berg"
    (warning,) = mapped.warnings
    assert (warning.field, warning.source, warning.policy) == (
        "person.given_name",
        "GIVEN",
        "drop_field",
    )
    assert "Bert" not in str(warning)  # names, never values
    preview = mapping.preview({"ID": "1", "GIVEN": "Bert"})
    assert preview.errors == [] and [w.field for w in preview.warnings] == ["person.given_name"]


def test_keep_raw_keeps_the_text_as_received_with_a_warning(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, POLICIES.replace("{policy}", "keep_raw"))
    mapped = mapping.apply({"ID": "1", "GIVEN": "Bert"})
    assert mapped.output.person.given_name == "Bert"
    assert [w.policy for w in mapped.warnings] == ["keep_raw"]
    assert mapping.apply({"ID": "1", "GIVEN": "Anna"}).warnings == ()


def test_keep_raw_needs_a_place_for_text(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    path = write_mapping(
        CSV_HEAD
        + "fields:\n"
        + ID_FIELD
        + """
  - target: person.birth_date
    source: GIVEN
    transforms: [{date: {from: '%d.%m.%Y'}}]
    on_error: keep_raw
"""
    )
    errors = check_mapping(path, schemas=schemas)
    assert "needs a text target or a record with a 'raw' field" in str(errors[0])


# --- when / otherwise / on_missing ---------------------------------------------------------------

CONSENT_WHEN = (
    """
fields:
"""
    + ID_FIELD
    + """
  - target: preferences.channels
    require: [opted_in]
    fields:
      - {target: channel, value: email}
      - target: opted_in
        source: TIER
        transforms: [{when: {op: eq, value: Y, then: true, otherwise: false}}]
"""
)


def test_otherwise_does_not_invent_an_answer_for_a_missing_value(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, CONSENT_WHEN)
    assert mapping.map({"ID": "1", "TIER": "N"}).preferences.channels[0].opted_in is False
    assert mapping.map({"ID": "1", "TIER": "Y"}).preferences.channels[0].opted_in is True
    assert mapping.map({"ID": "1", "TIER": ""}).preferences is None


def test_check_warns_on_otherwise_without_on_missing(
    write_mapping: WriteMapping,
    schemas: SchemaRegistry,
) -> None:
    path = write_mapping(CSV_HEAD + CONSENT_WHEN)
    assert check_mapping(path, schemas=schemas) == []  # a warning, not an error
    mapping = load_mapping(path, schemas=schemas)
    (warning,) = mapping.warnings
    assert "add 'on_missing: <value>'" in str(warning) and warning.line == 22
    fixed = write_mapping(
        CSV_HEAD + CONSENT_WHEN.replace("otherwise: false", "otherwise: false, on_missing: false"),
        name="fixed.yaml",
    )
    assert load_mapping(fixed, schemas=schemas).warnings == ()


def test_every_bundled_mapping_is_free_of_warnings(schemas: SchemaRegistry) -> None:
    from tests.mapping.conftest import MAPPINGS

    for path in sorted(MAPPINGS.glob("*.yaml")):
        assert load_mapping(path, schemas=schemas).warnings == (), path.name


def test_invalid_files_still_raise(write_mapping: WriteMapping, schemas: SchemaRegistry) -> None:
    with pytest.raises(MappingFileInvalid):
        load_mapping(write_mapping(CSV_HEAD + "fields: []\noperations: 3\n"), schemas=schemas)


# --- phones kept as received, CPEX 1.1 ------------------------------------------------------------

RAW_PHONES = """
fields:
""" + ID_FIELD + """
  - {target: person.family_name, value: Berg}
  - target: phones
    fields:
      - target: number
        source: PHONE
        transforms: [{phone: {region_from: COUNTRY, region: DE, accept: valid}}]
        on_error: keep_raw
      - target: quality
        source: PHONE
        transforms: [{phone_quality: {region_from: COUNTRY, region: DE}}]
"""


def test_a_phone_that_cannot_be_confirmed_is_kept_raw_with_its_quality(
    write_mapping: WriteMapping, schemas: SchemaRegistry,
) -> None:
    mapping = csv_mapping(write_mapping, schemas, RAW_PHONES)
    good = mapping.apply({"ID": "1", "PHONE": "030 1234 56", "COUNTRY": "DE"})
    (phone,) = good.output.phones
    assert (phone.number, phone.raw, phone.quality, good.warnings) == (
        "+4930123456", None, "valid", ())
    odd = mapping.apply({"ID": "2", "PHONE": "+49 11 12345678", "COUNTRY": "DE"})
    (phone,) = odd.output.phones
    assert (phone.number, phone.raw, phone.quality) == (None, "+49 11 12345678", "possible")
    assert [(w.field, w.policy) for w in odd.warnings] == [("phones[0].number", "keep_raw")]
    bad = mapping.apply({"ID": "3", "PHONE": "call the office", "COUNTRY": "DE"})
    (phone,) = bad.output.phones
    assert (phone.number, phone.raw, phone.quality) == (None, "call the office", "invalid")
    # a kept phone is a valid CPEX 1.1 record
    assert mapping.preview({"ID": "3", "PHONE": "call the office"}).errors == []


# --- custom attributes ---------------------------------------------------------------------------

DECLARED = {
    "loyalty_tier": AttributeDeclaration("loyalty_tier"),
    "points": AttributeDeclaration("points", type="integer"),
    "hobbies": AttributeDeclaration("hobbies", many=True),
}

ATTRIBUTES = """
fields:
""" + ID_FIELD + """
  - {target: person.family_name, value: Berg}
  - {target: attributes.loyalty_tier, source: TIER}
  - {target: attributes.points, source: GIVEN, on_error: drop_field}
  - {target: attributes.hobbies, source: LANG, transforms: [{split: ","}]}
  - {target: attributes.shoe_size, source: STATUS}
"""


def test_custom_attributes_take_their_declared_type_and_undeclared_ones_are_reported(
    write_mapping: WriteMapping, schemas: SchemaRegistry,
) -> None:
    path = write_mapping(CSV_HEAD + ATTRIBUTES)
    errors, warnings = lint_mapping(path, schemas=schemas, attributes=DECLARED)
    assert errors == [] and len(warnings) == 1
    assert "attribute 'shoe_size' is not declared in the settings" in str(warnings[0])
    mapping = load_mapping(path, schemas=schemas, attributes=DECLARED)
    mapped = mapping.apply({"ID": "1", "TIER": "gold", "GIVEN": " 0042 ",
                            "LANG": "golf, sailing", "STATUS": "44"})
    assert [(a.name, a.value) for a in mapped.output.attributes] == [
        ("loyalty_tier", "gold"), ("points", "42"), ("hobbies", "golf"),
        ("hobbies", "sailing"), ("shoe_size", "44")]
    assert [(w.field, w.policy) for w in mapped.warnings] == [
        ("attributes.shoe_size", "undeclared")]
    wrong = mapping.apply({"ID": "1", "GIVEN": "many"})
    assert [(w.field, w.policy) for w in wrong.warnings] == [("attributes.points", "drop_field")]
    preview = mapping.preview({"ID": "1", "STATUS": "44"})
    assert [w.field for w in preview.warnings] == ["attributes.shoe_size"]
    assert preview.errors == []  # valid CPEX 1.1 (Extensions)
    # without declarations (a bare load) nothing is checked
    assert load_mapping(path, schemas=schemas).warnings == ()


def test_key_value_attributes_of_a_source_map_as_a_group(
    write_mapping: WriteMapping, schemas: SchemaRegistry,
) -> None:
    path = write_mapping("""
version: 1
direction: inbound
source:
  format: xml
  namespaces: {s: "urn:shop"}
  record: s:customer
target: {format: canonical}
fields:
  - target: identifiers
    fields:
      - {target: system, value: shop}
      - {target: key, source: "@no"}
  - {target: person.family_name, value: Berg}
  - target: attributes
    source: s:custom-attribute/s:value
    fields:
      - {target: name, source: "../@attribute-id"}
      - {target: value, source: "."}
""")
    mapping = load_mapping(path, schemas=schemas, attributes=DECLARED)
    record = etree.fromstring(
        b'<customer xmlns="urn:shop" no="1"><custom-attribute attribute-id="hobbies">'
        b"<value>golf</value><value>chess</value></custom-attribute>"
        b'<custom-attribute attribute-id="favouriteStore"><value>Leeds</value>'
        b"</custom-attribute></customer>")
    mapped = mapping.apply(record)
    assert [(a.name, a.value) for a in mapped.output.attributes] == [
        ("hobbies", "golf"), ("hobbies", "chess"), ("favouriteStore", "Leeds")]
    assert [w.field for w in mapped.warnings] == ["attributes.favouriteStore"]
