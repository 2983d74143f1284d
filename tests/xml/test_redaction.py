"""Schema issue messages name the place and the rule, never the rejected value (personal data).

Both validators quote the value they refuse; these tests feed records with recognisable values
to each and check that the messages keep element, attribute, facet, pattern and path, and lose
the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import SchemaValidationError
from gateway.xml import parse_bytes
from gateway.xml.schemas import SchemaRegistry, redact_values

REPO = Path(__file__).resolve().parents[2]
PROFILE_NS = "urn:cpex:profile:1.0"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry(REPO / "schemas")


def issues_of(
    registry: SchemaRegistry, body: str, *, identifiers: str = ""
) -> SchemaValidationError:
    ids = identifiers or '<Identifier system="shop" key="k-1"/>'
    doc = parse_bytes(
        f'<Profile xmlns="{PROFILE_NS}"><Identifiers>{ids}</Identifiers>{body}</Profile>'.encode()
    )
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(doc, source="record 1")
    return caught.value


def everything_said(error: SchemaValidationError) -> str:
    return "\n".join([str(error), repr(error.to_dict()), *(str(i) for i in error.issues)])


def test_bad_email_names_path_and_facet_not_the_value(registry: SchemaRegistry) -> None:
    error = issues_of(registry, "<Person/><Emails><Email>john@@x.example</Email></Emails>")
    (issue,) = error.issues
    assert issue.path == "/Profile/Emails/Email"
    assert issue.line == 1
    assert "[facet 'pattern']" in issue.message and "Email" in issue.message
    assert "The value [redacted, 15 chars] is not accepted by the pattern '" in issue.message
    assert "john" not in everything_said(error)


@pytest.mark.parametrize(
    ("body", "secret", "path", "kept"),
    [
        # enumeration on an attribute: the code list stays (it is the schema's, not the person's)
        ('<Person/><Emails><Email type="secret-kind">a@b.example</Email></Emails>',
         "secret-kind", "/Profile/Emails/Email", "is not an element of the set {'personal'"),
        # a simple type (date) refused outright
        ("<Person><BirthDate>1984-13-45</BirthDate></Person>",
         "1984-13-45", "/Profile/Person/BirthDate", "is not a valid value of the atomic type"),
        # a value with a quote in it (O'Brien plus a trailing space breaks the name pattern)
        ("<Person><FamilyName>O'Brien </FamilyName></Person>",
         "Brien", "/Profile/Person/FamilyName", "[facet 'pattern']"),
        # a phone number not in E.164
        ('<Person/><Phones><Phone type="mobile">030 1234567</Phone></Phones>',
         "1234567", "/Profile/Phones/Phone", "is not accepted by the pattern '(\\+[1-9]"),
    ],
    ids=["enumeration", "atomic-type", "quote-inside", "phone"],
)
def test_each_kind_of_refusal_is_redacted(
    registry: SchemaRegistry, body: str, secret: str, path: str, kept: str
) -> None:
    error = issues_of(registry, body)
    issue = error.issues[0]
    assert issue.path == path
    assert kept in issue.message
    assert "[redacted, " in issue.message
    assert secret not in everything_said(error)


def test_a_duplicate_key_keeps_the_constraint_not_the_key(registry: SchemaRegistry) -> None:
    error = issues_of(
        registry, "<Person/>",
        identifiers='<Identifier system="shop" key="cust-777"/>'
                    '<Identifier system="shop" key="cust-777"/>',
    )
    (issue,) = error.issues
    assert issue.path == "/Profile/Identifiers/Identifier[2]"
    assert "Duplicate key-sequence [redacted key] in unique identity-constraint" in issue.message
    assert "UniqueIdentifier" in issue.message
    assert "cust-777" not in everything_said(error)


def test_a_length_message_has_no_value_to_hide(registry: SchemaRegistry) -> None:
    long = "a" * 300 + "@b.example"
    (issue,) = issues_of(registry, f"<Person/><Emails><Email>{long}</Email></Emails>").issues
    assert "[facet 'maxLength'] The value has a length of '310'" in issue.message


XSD11 = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:vc="http://www.w3.org/2007/XMLSchema-versioning" vc:minVersion="1.1"
    targetNamespace="urn:partner" xmlns="urn:partner" elementFormDefault="qualified"
    version="1.0" xpathDefaultNamespace="##targetNamespace">
  <xs:element name="Customer">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Email">
          <xs:simpleType><xs:restriction base="xs:string">
            <xs:pattern value="[^@]+@[^@]+"/>
          </xs:restriction></xs:simpleType>
        </xs:element>
        <xs:element name="Born" type="xs:date"/>
        <xs:element name="Id" maxOccurs="3">
          <xs:complexType><xs:attribute name="key" type="xs:string"/></xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="number" type="xs:positiveInteger"/>
    </xs:complexType>
    <xs:unique name="OneKey"><xs:selector xpath="Id"/><xs:field xpath="@key"/></xs:unique>
  </xs:element>
</xs:schema>"""


def test_xsd_11_partner_schema_messages_are_redacted_too(tmp_path: Path) -> None:
    (tmp_path / "partner.xsd").write_text(XSD11)
    registry = SchemaRegistry(tmp_path)
    doc = parse_bytes(
        b'<Customer xmlns="urn:partner" number="x-secret-9"><Email>jane@@x</Email>'
        b'<Born>1984-13-45</Born><Id key="pk-4711"/><Id key="pk-4711"/></Customer>'
    )
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(doc, source="partner record")
    said = everything_said(caught.value)
    for secret in ("x-secret-9", "jane", "1984-13-45", "pk-4711"):
        assert secret not in said
    paths = [i.path for i in caught.value.issues]
    assert "/Customer/Email" in paths and "/Customer/Id[2]" in paths
    messages = " | ".join(i.message for i in caught.value.issues)
    assert "attribute number=[redacted, 10 chars]" in messages
    assert "doesn't match any pattern of ['[^@]+@[^@]+']" in messages
    assert "duplicated value [redacted key]" in messages


def test_the_element_values_are_the_second_guard_for_unknown_forms() -> None:
    element = parse_bytes(b'<Email type="work"> mary@example.org </Email>').getroot()
    message = "Element 'Email': something new about 'mary@example.org' and \"work\"."
    assert redact_values(message, element) == (
        "Element 'Email': something new about [redacted, 16 chars] and [redacted, 4 chars]."
    )
