"""The schema registry: finds schemas by namespace and version, one compiled copy per thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gateway.errors import SchemaValidationError, UnknownSchemaError, XMLSecurityError
from gateway.xml import parse_bytes
from gateway.xml.schemas import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]
PROFILE_NS = "urn:cpex:profile:1.0"
EXCHANGE_NS = "urn:cpex:exchange:1.0"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry(REPO / "schemas")


def test_finds_the_cpex_schemas_by_namespace_and_version(registry: SchemaRegistry) -> None:
    assert registry.entry(PROFILE_NS, "1.0").path.name == "cpex-profile-1.0.xsd"
    assert registry.entry(EXCHANGE_NS).path.name == "cpex-exchange-1.0.xsd"
    with pytest.raises(UnknownSchemaError, match="urn:nope"):
        registry.entry("urn:nope")
    with pytest.raises(UnknownSchemaError, match=r"version 9\.9"):
        registry.entry(PROFILE_NS, "9.9")


def test_compiled_once_per_thread(registry: SchemaRegistry) -> None:
    mine = registry.validator(PROFILE_NS)
    assert registry.validator(PROFILE_NS) is mine
    theirs: list[object] = []
    thread = threading.Thread(target=lambda: theirs.append(registry.validator(PROFILE_NS)))
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine


def test_a_record_inside_a_batch_is_validated_alone_with_a_readable_path(
    registry: SchemaRegistry,
) -> None:
    doc = parse_bytes(
        f"""<Batch xmlns="{PROFILE_NS}">
<Profile><Identifiers><Identifier system="a" key="1"/></Identifiers><Person/></Profile>
<Profile>
  <Identifiers><Identifier system="a" key="2"/></Identifiers><Person/>
  <Phones><Phone type="mobile">+4930123</Phone><Phone type="mobile">0301234</Phone></Phones>
</Profile>
</Batch>""".encode()
    )
    first, second = doc.getroot()
    registry.validate(first, namespace=PROFILE_NS)
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(second, source="batch.xml")
    issue = caught.value.issues[0]
    assert issue.line == 5
    assert issue.path == "/Profile/Phones/Phone[2]"
    assert "[facet 'pattern']" in issue.message and "0301234" not in issue.message
    assert str(caught.value).startswith("batch.xml, line 5")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_imports_outside_the_schemas_folder_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _write(outside, "other.xsd", '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
           'targetNamespace="urn:other"><xs:element name="o"/></xs:schema>')
    inside = tmp_path / "schemas"
    inside.mkdir()
    _write(
        inside,
        "main.xsd",
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:main" '
        'version="1.0"><xs:import namespace="urn:other" schemaLocation="../outside/other.xsd"/>'
        '<xs:element name="m"/></xs:schema>',
    )
    registry = SchemaRegistry(inside)
    with pytest.raises(XMLSecurityError, match="outside the schemas folder"):
        registry.validator("urn:main")


def test_xsd_11_schema_is_served_by_xmlschema(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "range.xsd",
        """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
            xmlns:vc="http://www.w3.org/2007/XMLSchema-versioning" vc:minVersion="1.1"
            targetNamespace="urn:range" xmlns="urn:range" elementFormDefault="qualified"
            version="2.0" xpathDefaultNamespace="##targetNamespace">
          <xs:element name="Range">
            <xs:complexType>
              <xs:sequence>
                <xs:element name="Low" type="xs:int"/><xs:element name="High" type="xs:int"/>
              </xs:sequence>
              <xs:assert test="Low le High"/>
            </xs:complexType>
          </xs:element>
        </xs:schema>""",
    )
    registry = SchemaRegistry(tmp_path)
    assert registry.entry("urn:range").xsd_version == "1.1"
    good = parse_bytes(b'<Range xmlns="urn:range"><Low>1</Low><High>2</High></Range>')
    registry.validate(good)
    bad = parse_bytes(b'<Range xmlns="urn:range"><Low>3</Low><High>2</High></Range>')
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(bad, source="range.xml")
    assert caught.value.issues[0].line == 1
    assert "assert" in caught.value.issues[0].message.lower()


def test_paths_are_given_without_the_documents_prefixes(registry: SchemaRegistry) -> None:
    doc = parse_bytes(
        f"""<c:Profile xmlns:c="{PROFILE_NS}">
<c:Identifiers><c:Identifier system="a" key="1"/></c:Identifiers><c:Person/>
<c:Emails><c:Email>ok@example.org</c:Email><c:Email>broken@</c:Email></c:Emails>
</c:Profile>""".encode()
    )
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(doc)
    assert caught.value.issues[0].path == "/Profile/Emails/Email[2]"
    assert caught.value.issues[0].line == 3
