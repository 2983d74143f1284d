"""A CRM's contacts as schema.org JSON-LD (Person and Organization records in @graph), end to
end on both databases: the file meets its JSON Schema, every key lands somewhere, a person's
employer and an organization's contact points survive as CPEX 1.1, re-importing changes nothing,
the merged profiles export as valid CPEX 1.1, and REST and the file drop agree."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from gateway.model import to_dict
from gateway.model.xmlcodec import profile_to_element
from tests.formats.conftest import REPO, SAMPLES, Hub
from tests.formats.coverage import unread_json

SAMPLE = SAMPLES / "crm-contacts.json"
SCHEMA = REPO / "schemas" / "partners" / "schema-org-contacts.schema.json"
MAPPING = "crm-contacts"


def test_the_sample_meets_its_json_schema() -> None:
    jsonschema.validate(
        json.loads(SAMPLE.read_text(encoding="utf-8")),
        json.loads(SCHEMA.read_text(encoding="utf-8")),
    )


def test_every_key_of_the_export_lands_somewhere(hub: Hub) -> None:
    mapping = hub.gateway.mappings.get(MAPPING)
    records = mapping.read_sample(SAMPLE)
    assert [r["identifier"] for r in records] == ["P-100", "O-7"]
    assert {r["identifier"]: unread_json(mapping, r) for r in records} == {"P-100": [], "O-7": []}
    assert [(p.operation, p.errors, p.warnings) for p in map(mapping.preview, records)] == [
        ("upsert", [], []),
        ("upsert", [], []),
    ]


def _stored(hub: Hub) -> dict[str, Any]:
    out = {}
    for key in ("P-100", "O-7"):
        profile = hub.gateway.profiles.find_by_identifier("crm", key)
        assert profile is not None
        hub.gateway.schemas.validate(profile_to_element(profile))  # exports as CPEX 1.1
        out[key] = {k: v for k, v in to_dict(profile).items() if k != "id"}
    return out


def test_file_drop_then_rest_give_the_same_profiles(hub: Hub) -> None:
    outcome = hub.drop(SAMPLE, mapping=f"{MAPPING}.yaml", source="crm")
    assert (outcome.rows_read, outcome.rows_written, outcome.rows_rejected) == (2, 2, 0)
    dropped = _stored(hub)
    assert dropped["P-100"]["person"]["employment"] == {
        "organization_name": "Atelier Lumière",
        "organization_id": "O-7",
        "job_title": "Directrice des achats",
    }
    assert [c["name"] for c in dropped["O-7"]["organization"]["contacts"]] == [
        "Marie Dubois",
        "Service client",
    ]

    records = json.loads(SAMPLE.read_text(encoding="utf-8"))["@graph"]
    answer = hub.client.post(
        f"/api/v1/profiles?mapping={MAPPING}&source=crm",
        json={"profiles": records},
        headers=hub.admin,
    )
    assert answer.status_code == 200, answer.json
    assert [r["status"] for r in answer.json["results"]] == ["unchanged", "unchanged"]
    assert _stored(hub) == dropped
