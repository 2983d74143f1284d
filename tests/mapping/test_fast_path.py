"""``map`` reads plain XML fields in batches and builds the model slot by slot; ``preview``
runs every field plan in file order. Both must give the same profile, blanks, comments and
repeated elements included, and the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mapping import MappingFailure, load_mapping
from gateway.mapping.canonical import builder
from gateway.model import Profile, from_dict, to_dict
from gateway.model.profile import Consent, Person
from gateway.xml.parser import parse_bytes
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import CASES, MAPPINGS, WriteMapping


@pytest.mark.parametrize(
    "case", sorted(CASES.glob("*/in_*")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_map_and_preview_agree_on_every_golden_case(case: Path, schemas: SchemaRegistry,
                                                    salt: str) -> None:
    mapping = load_mapping(MAPPINGS / f"{case.parent.name}.yaml", schemas=schemas)
    for record in mapping.read_sample(case):
        mapped = mapping.map(record)
        previewed = mapping.preview(record).output
        if mapping.target_format == "xml":
            assert mapping.writer.render(mapped) == mapping.writer.render(previewed)
        else:
            assert mapped == previewed


EDGES = b"""<c:Profile xmlns:c="urn:cpex:profile:1.0" id="  ">
  <!-- a comment among the children -->
  <c:Person><?pi ignored?><c:GivenName>   </c:GivenName><c:GivenName>Second</c:GivenName>
    <c:FamilyName>Berg</c:FamilyName><c:Gender>female</c:Gender></c:Person>
  <c:Addresses><c:Address type="work"><c:Line>One</c:Line><c:Line> </c:Line><c:Line/>
    <c:Line>Two</c:Line><c:City/></c:Address></c:Addresses>
  <c:Addresses><!-- a second wrapper --><c:Address><c:City>Brno</c:City></c:Address>
  </c:Addresses>
  <c:Emails><c:Email type="work" primary="1">a@example.org</c:Email></c:Emails>
  <c:Metadata><c:Source>partner</c:Source><c:Version>7</c:Version></c:Metadata>
</c:Profile>"""


def test_blanks_comments_and_repeats_read_alike_in_map_and_preview(
    schemas: SchemaRegistry,
) -> None:
    mapping = load_mapping(MAPPINGS / "cpex-in.yaml", schemas=schemas)
    record = parse_bytes(EDGES).getroot()
    mapped = mapping.map(record)
    assert mapped == mapping.preview(record).output
    data = to_dict(mapped)
    assert data.get("id") is None  # a blank attribute is nothing
    assert data["person"] == {"family_name": "Berg", "gender": "female"}  # first match blank
    assert [a.get("lines") for a in data["addresses"]] == [["One", "Two"], None]
    assert [a.get("city") for a in data["addresses"]] == [None, "Brno"]
    assert [(e.address, e.primary) for e in mapped.emails] == [("a@example.org", True)]


def test_fields_sharing_a_key_keep_file_order(write_mapping: WriteMapping) -> None:
    path = write_mapping("""
        version: 1
        direction: inbound
        source: {format: xml, namespaces: {c: "urn:cpex:profile:1.0"}, record: c:Profile}
        target: {format: canonical}
        fields:
          - {target: segments, source: c:A}
          - {target: segments, source: c:B}
          - target: person
            source: c:P
            fields:
              - {target: given_name, source: c:G}
              - {target: family_name, source: c:F, transforms: [{case: upper}]}
        """)
    mapping = load_mapping(path)
    record = parse_bytes(b'<c:Profile xmlns:c="urn:cpex:profile:1.0"><c:B>b</c:B><c:A>a</c:A>'
                         b"<c:P><c:F>berg</c:F><c:G>Eva</c:G></c:P></c:Profile>").getroot()
    mapped = mapping.map(record)
    assert mapped == mapping.preview(record).output
    assert mapped.segments == ("a", "b")
    assert (mapped.person.given_name, mapped.person.family_name) == ("Eva", "BERG")


def test_failures_name_the_item_in_map(write_mapping: WriteMapping) -> None:
    path = write_mapping("""
        version: 1
        direction: inbound
        source: {format: xml, namespaces: {c: "urn:cpex:profile:1.0"}, record: c:Profile}
        target: {format: canonical}
        fields:
          - target: consents
            source: c:Consents/c:Consent
            fields:
              - {target: purpose, source: c:Purpose}
              - {target: recipient, source: c:Recipient}
              - {target: status, source: c:Status}
              - target: given
                source: c:Given
                transforms: [{datetime: {from: "%d.%m.%Y %H:%M", zone: UTC}}]
        """)
    mapping = load_mapping(path)
    consent = ("<c:Consent><c:Purpose>contact</c:Purpose><c:Recipient>ours</c:Recipient>"
               "<c:Status>granted</c:Status><c:Given>{}</c:Given></c:Consent>")
    record = parse_bytes(
        ('<c:Profile xmlns:c="urn:cpex:profile:1.0"><c:Consents>'
         + consent.format("01.02.2024 10:00") + consent.format("bad") + "</c:Consents>"
         "</c:Profile>").encode()).getroot()
    with pytest.raises(MappingFailure) as caught:
        mapping.map(record)
    assert caught.value.field == "consents[1].given"
    errors = mapping.preview(record).errors
    assert (errors[0].kind, errors[0].field) == ("mapping", "consents[1].given")


def test_builder_matches_the_dataclass_constructor() -> None:
    person = builder(Person)({"given_name": "Eva", "birth_date": "1999-12-31"})
    assert person == Person(given_name="Eva", birth_date=from_dict(Person, {
        "birth_date": "1999-12-31"}).birth_date)
    assert hash(person) == hash(Person(given_name="Eva", birth_date=person.birth_date))
    with pytest.raises(AttributeError):
        person.given_name = "Other"  # still frozen
    profile = builder(Profile)({"consents": [{"purpose": "contact", "recipient": "ours",
                                              "status": "granted",
                                              "given": "2024-05-14T09:12:00+02:00"}]})
    assert isinstance(profile.consents[0], Consent) and profile.consents == tuple(
        from_dict(Profile, to_dict(profile)).consents)
