"""A record with neither a person nor an organization (a partner's delete-mode row mapped as a
profile, say) is refused like ``mapping preview`` refuses it: it never creates an empty golden
profile and never wipes the names of the person it matches (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Api

ACME = 'xmlns:acme="urn:acme:crm:2"'


def _acme(api: Api, customers: str) -> list[dict[str, Any]]:
    answer = api.client.post(
        "/api/v1/profiles?source=acme&mapping=acme-in",
        data=f"<acme:customers {ACME}>{customers}</acme:customers>".encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.json
    results: list[dict[str, Any]] = answer.json["results"]
    return results


def test_a_record_without_person_or_organization_is_refused(mapping_api: Api) -> None:
    api = mapping_api
    (named,) = _acme(
        api, '<acme:customer customer-id="7"><acme:name first="Eva" last="Novak"/></acme:customer>'
    )
    assert named["status"] == "created", named
    url = f"/api/v1/profiles/{named['id']}"
    before = api.client.get(url, headers=api.headers("admin")).json

    # the same customer again with nothing but its id; and a new id with nothing at all
    again, new = _acme(api, '<acme:customer customer-id="7"/><acme:customer customer-id="8"/>')

    for refused in (again, new):
        assert refused["status"] == "rejected", refused
        assert refused["code"] == "model_error"
        assert "person nor an organization" in refused["errors"][0]["message"]
    after = api.client.get(url, headers=api.headers("admin")).json
    assert after["person"] == before["person"] and after["version"] == before["version"]
    listing = api.client.get("/api/v1/profiles", headers=api.headers("admin")).json
    assert listing["total"] == 1


def test_the_json_path_refuses_it_too(api: Api) -> None:
    body = {"source": "crm", "profiles": [{"identifiers": [{"system": "crm", "key": "1"}]}]}
    answer = api.client.post("/api/v1/profiles", json=body, headers=api.headers("admin"))
    (refused,) = answer.json["results"]
    assert refused["status"] == "rejected", refused
    assert api.client.get("/api/v1/profiles", headers=api.headers("admin")).json["total"] == 0
