"""A commerce platform's customer export (namespaced XML, attributes, key/value custom
attributes with repeated <value>, a per-record mode="delete"), end to end on both databases:
every field lands somewhere, the export validates against its schema, the delete record erases,
re-importing changes nothing, the merged profile exports as valid CPEX 1.1, and REST and the
file drop give the same result."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.model import to_dict
from gateway.model.xmlcodec import profile_to_element
from gateway.pipeline.files import import_file
from gateway.pipeline.runner import record_tag
from gateway.store.tables import golden_profile
from gateway.xml import parse_file
from tests.formats.conftest import SAMPLES, Hub
from tests.formats.coverage import unread_xml

SAMPLE = SAMPLES / "commerce-customers.xml"
MAPPING = "commerce-customers"
NS = "http://www.demandware.com/xml/impex/customer/2006-10-31"


def test_the_sample_is_valid_against_the_partner_schema(hub: Hub) -> None:
    entry = hub.gateway.schemas.validate(parse_file(SAMPLE))
    assert entry.path.name == "commerce-customer-2006-10-31.xsd"


def test_every_field_of_the_export_lands_somewhere(hub: Hub) -> None:
    mapping = hub.gateway.mappings.get(MAPPING)
    records = list(parse_file(SAMPLE).getroot().iter(record_tag(mapping)))
    assert len(records) == 3
    assert {r.get("customer-no"): unread_xml(mapping, r) for r in records} == {
        "00004711": [],
        "00004712": [],
        "00000042": [],
    }
    previews = [mapping.preview(r) for r in records]
    assert [(p.operation, p.errors, p.warnings) for p in previews] == [
        ("upsert", [], []),
        ("upsert", [], []),
        ("erase", [], []),
    ]


def _stored(hub: Hub, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The golden profiles of the shop's keys, as dicts (no ids: they differ between runs)."""
    out = {}
    for key in keys:
        profile = hub.gateway.profiles.find_by_identifier("shop", key)
        out[key] = (
            None if profile is None else {k: v for k, v in to_dict(profile).items() if k != "id"}
        )
    return out


def test_import_erase_reimport_and_export(hub: Hub, tmp_path: Any) -> None:
    # first, someone the shop will delete
    first = tmp_path / "first.xml"
    first.write_text(
        f'<customers xmlns="{NS}"><customer customer-no="00000042"><profile>'
        "<first-name>Old</first-name><last-name>Customer</last-name></profile>"
        "</customer></customers>",
        encoding="utf-8",
    )
    created = import_file(hub.gateway, first, source_system="shop", mapping=MAPPING)
    assert [o.status for o in created.outcomes] == ["created"]
    old_id = created.outcomes[0].golden_id

    report = import_file(hub.gateway, SAMPLE, source_system="shop", mapping=MAPPING)
    assert [(o.status, o.reason) for o in report.outcomes] == [
        ("created", None),
        ("created", None),
        ("erased", "deleted in the shop"),
    ]
    with hub.gateway.engine.connect() as conn:
        assert (
            conn.execute(
                select(golden_profile.c.erased).where(golden_profile.c.id == old_id)
            ).scalar_one()
            is True
        )
    anna = hub.gateway.profiles.get(report.outcomes[0].golden_id)
    assert anna.person.employment.job_title == "Einkäuferin"
    assert [(p.type, p.number) for p in anna.phones] == [
        ("landline", "+4930123456"),
        ("mobile", "+4917612345678"),
    ]
    assert {(a.name, a.value) for a in anna.attributes} >= {
        ("interests", "golf"),
        ("interests", "sailing"),
    }
    assert anna.account.enabled is True and anna.consents[0].status == "granted"
    # the merged profile exports as valid CPEX 1.1
    hub.gateway.schemas.validate(profile_to_element(anna))

    again = import_file(hub.gateway, SAMPLE, source_system="shop", mapping=MAPPING, reprocess=True)
    assert [o.status for o in again.outcomes] == ["unchanged", "unchanged", "erased"]


def test_rest_and_file_drop_give_the_same_result(hub: Hub, migrated_engine: Any) -> None:
    body = SAMPLE.read_bytes()
    answer = hub.client.post(
        f"/api/v1/profiles?mapping={MAPPING}&source=shop",
        data=body,
        headers={**hub.admin, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.json
    assert [r["status"] for r in answer.json["results"]] == ["created", "created", "erased"]
    by_rest = _stored(hub, ["00004711", "00004712", "00000042"])

    # the same file dropped again: every record as stored already
    outcome = hub.drop(SAMPLE, mapping=f"{MAPPING}.yaml", source="shop")
    assert (outcome.rows_read, outcome.rows_rejected) == (3, 0)
    assert _stored(hub, ["00004711", "00004712", "00000042"]) == by_rest
    assert by_rest["00000042"] is None
    assert by_rest["00004711"]["person"]["employment"] == {
        "organization_name": "Nordwind GmbH",
        "job_title": "Einkäuferin",
    }


def test_a_file_drop_alone_stores_what_rest_stores(hub: Hub) -> None:
    outcome = hub.drop(SAMPLE, mapping=f"{MAPPING}.yaml", source="shop")
    assert (outcome.rows_read, outcome.rows_written, outcome.rows_rejected) == (3, 3, 0)
    stored = _stored(hub, ["00004711", "00004712"])
    assert stored["00004712"]["account"] == {
        "login": "tom.hill@example.co.uk",
        "enabled": False,
        "created": "2021-01-15T08:00:00+00:00",
    }
