"""``check_mapping``: each kind of error names file, line, column and says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mapping import MappingError, MappingFileInvalid, check_mapping, load_mapping
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import MAPPINGS, WriteMapping

XML_IN = """
version: 1
direction: inbound
source:
  format: xml
  namespaces: {c: "urn:cpex:profile:1.0"}
target:
  format: canonical
fields:
  - target: person.given_name
    source: {source}
    transforms: [{transform}]
  - target: {target}
    source: c:Person/c:FamilyName
"""

CSV_IN = """
version: 1
direction: inbound
source:
  format: csv
  columns: [ID, NAME, SEX]
target:
  format: canonical
code_lists:
  gender: {file: codes/gender.csv}
fields:
  - target: person.given_name
    source: {column}
    transforms:
      - {transform}
"""

XML_OUT = """
version: 1
direction: outbound
source:
  format: canonical
target:
  format: xml
  schema: "urn:acme:crm:2"
  root: acme:customer
  namespaces: {acme: "urn:acme:crm:2"}
fields:
  - target: "@customer-id"
    source: id
  - target: {target}
    source: person.given_name
"""


def _xml_in(source: str = "c:Person/c:GivenName", transform: str = "trim",
            target: str = "person.family_name") -> str:
    return XML_IN.replace("{source}", source).replace("{transform}", transform) \
        .replace("{target}", target)


def _csv_in(column: str = "NAME", transform: str = "trim") -> str:
    return CSV_IN.replace("{column}", column).replace("{transform}", transform)


def _only(errors: list[MappingError]) -> MappingError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_bundled_mappings_are_valid(schemas: SchemaRegistry) -> None:
    files = sorted(MAPPINGS.glob("*.yaml"))
    assert len(files) == 12
    for file in files:
        assert check_mapping(file, schemas=schemas) == [], file


def test_good_file_has_no_errors(write_mapping: WriteMapping) -> None:
    assert check_mapping(write_mapping(_xml_in())) == []
    assert check_mapping(write_mapping(_csv_in())) == []


def test_unknown_transform(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(transform="trimm"))
    error = _only(check_mapping(path))
    assert (error.file, error.line, error.column) == (str(path), 11, 18)
    assert error.key == "fields[0].transforms[0]"
    assert error.reason.startswith("unknown transform 'trimm' (known: boolean, case,")
    assert str(error).startswith(f"{path}:11:18: fields[0].transforms[0]: unknown transform")


def test_bad_xpath(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(source="c:Person/[[x"))
    error = _only(check_mapping(path))
    assert (error.line, error.column, error.key) == (10, 13, "fields[0].source")
    assert error.reason.startswith("bad XPath 'c:Person/[[x': Invalid expression")


def test_undeclared_prefix_in_xpath(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(source="x:Person"))
    error = _only(check_mapping(path))
    assert (error.line, error.column) == (10, 13)
    assert "bad XPath 'x:Person': Undefined namespace prefix" in error.reason


def test_source_column_missing_from_declared_header(write_mapping: WriteMapping) -> None:
    path = write_mapping(_csv_in(column="FIRST_NAME"))
    error = _only(check_mapping(path))
    assert (error.line, error.column, error.key) == (12, 13, "fields[0].source")
    assert error.reason == (
        "column 'FIRST_NAME' is not in the declared header (columns: ID, NAME, SEX)"
    )


def test_target_field_not_in_canonical_model(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(target="person.surname"))
    error = _only(check_mapping(path))
    assert (error.line, error.column, error.key) == (12, 13, "fields[1].target")
    assert error.reason.startswith(
        "'person.surname' is not a field of the canonical profile: Person has no field "
        "'surname' (it has: given_name, middle_name, family_name,"
    )


def test_list_of_records_needs_a_group(write_mapping: WriteMapping) -> None:
    error = _only(check_mapping(write_mapping(_xml_in(target="emails.address"))))
    assert "'emails' is a list of records: map it with a group" in error.reason


def test_target_not_allowed_by_target_xsd(write_mapping: WriteMapping,
                                          schemas: SchemaRegistry) -> None:
    path = write_mapping(XML_OUT.replace("{target}", "acme:nickname"))
    error = _only(check_mapping(path, schemas=schemas))
    assert (error.line, error.column, error.key) == (13, 13, "fields[1].target")
    assert error.reason == (
        "element acme:nickname is not allowed by the target XSD in customer (allowed: name, "
        "born, sex, address, email, phone, custom-attributes)"
    )


def test_attribute_not_allowed_by_target_xsd(write_mapping: WriteMapping,
                                             schemas: SchemaRegistry) -> None:
    path = write_mapping(XML_OUT.replace("{target}", "acme:name/@middle"))
    error = _only(check_mapping(path, schemas=schemas))
    assert error.reason == ("attribute 'middle' is not allowed by the target XSD in name "
                            "(allowed: first, last, title)")


def test_wrong_argument_type(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(transform="{regex_replace: {pattern: 'a', count: many}}"))
    error = _only(check_mapping(path))
    assert (error.line, error.column) == (11, 56)
    assert error.key == "fields[0].transforms[0].regex_replace.count"
    assert error.reason == (
        "transform 'regex_replace': argument 'count' must be an integer, got a text"
    )


def test_argument_not_among_choices(write_mapping: WriteMapping) -> None:
    error = _only(check_mapping(write_mapping(_xml_in(transform="{case: shouting}"))))
    assert (error.line, error.column) == (11, 25)
    assert error.reason == (
        "transform 'case': argument 'to' must be one of upper, lower, title, got 'shouting'"
    )


def test_code_list_that_does_not_exist(write_mapping: WriteMapping) -> None:
    path = write_mapping(_csv_in(transform="code: sex"))
    error = _only(check_mapping(path))
    assert (error.line, error.column) == (14, 15)
    assert error.reason == (
        "transform 'code': code list 'sex' does not exist (code lists: gender)"
    )


def test_code_list_file_that_does_not_exist(write_mapping: WriteMapping) -> None:
    text = _csv_in().replace("codes/gender.csv", "codes/sexes.csv")
    error = _only(check_mapping(write_mapping(text)))
    assert (error.line, error.column, error.key) == (9, 18, "code_lists.gender.file")
    assert error.reason == "code list file 'codes/sexes.csv' does not exist"


def test_unknown_key_rejected(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in().replace("    transforms:", "    tranforms:"))
    error = _only(check_mapping(path))
    assert (error.line, error.column, error.key) == (11, 5, "fields[0].tranforms")
    assert error.reason.startswith("unknown key 'tranforms' (allowed here: target, source,")


def test_version_is_required_and_checked(write_mapping: WriteMapping) -> None:
    error = _only(check_mapping(write_mapping(_xml_in().replace("version: 1", "version: 7"))))
    assert (error.line, error.column, error.key) == (1, 10, "version")
    assert error.reason.startswith("unsupported mapping file version 7")


def test_yaml_syntax_error_has_a_position(write_mapping: WriteMapping) -> None:
    error = _only(check_mapping(write_mapping("version: 1\nfields: [a, b\n")))
    assert error.line is not None and error.reason.startswith("not valid YAML")


def test_several_errors_reported_at_once(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(source="c:[", transform="nope", target="person.x"))
    errors = check_mapping(path)
    assert [e.line for e in errors] == [10, 11, 12]


def test_load_raises_with_every_error(write_mapping: WriteMapping) -> None:
    path = write_mapping(_xml_in(transform="nope", target="person.x"))
    with pytest.raises(MappingFileInvalid) as caught:
        load_mapping(path)
    assert len(caught.value.errors) == 2
    assert str(caught.value).startswith(f"{path}:11:18: fields[0].transforms[0]: unknown")
    assert str(caught.value).endswith("(and 1 more)")
    assert caught.value.code == "mapping_invalid"


@pytest.mark.parametrize(
    ("transform", "line", "column", "reason"),
    [
        ("__import__", 11, 18, "unknown transform '__import__'"),
        ("os.system", 11, 18, "unknown transform 'os.system'"),
        ("eval", 11, 18, "unknown transform 'eval'"),
        ("{exec: 'import os'}", 11, 19, "unknown transform 'exec'"),
        ("'lambda v: v.upper()'", 11, 18, "unknown transform 'lambda v: v.upper()'"),
        ("{when: \"value > 3 or __import__('os').system('id')\"}", 11, 25,
         "transform 'when': takes named arguments"),
        ("{when: {op: '__eq__', value: 1}}", 11, 30,
         "transform 'when': argument 'op' must be one of eq, ne,"),
        ("{when: {op: eq, value: 1, then: {__class__: x}}}", 11, 50,
         "transform 'when': argument 'then' must be a text, number or true/false, got a mapping"),
    ],
)
def test_no_transform_can_run_code(
    write_mapping: WriteMapping, transform: str, line: int, column: int, reason: str
) -> None:
    """A file can only name library transforms with typed arguments: code is refused at check."""
    error = _only(check_mapping(write_mapping(_xml_in(transform=transform))))
    assert (error.line, error.column) == (line, column)
    assert error.reason.startswith(reason)


def test_salt_must_be_an_environment_variable_name(write_mapping: WriteMapping) -> None:
    path = write_mapping(_csv_in(transform="hash: {salt_env: 'my secret salt'}"))
    error = _only(check_mapping(path))
    assert "must be the NAME of an environment variable" in error.reason


def test_direction_must_match_formats(write_mapping: WriteMapping, tmp_path: Path) -> None:
    path = write_mapping(_xml_in().replace("direction: inbound", "direction: outbound"))
    error = _only(check_mapping(path))
    assert (error.line, error.column, error.key) == (4, 11, "source.format")
    assert "an outbound mapping reads the canonical profile" in error.reason
