"""``/api/v1/profiles`` end to end: submit (XML and JSON), read with ETag, conditional writes,
search, lineage, unmerge, and the OpenAPI description (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from gateway.web.access import Access, rule_of
from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api


def submit_xml(api: Api, records: list[str], message_id: str = "m-1") -> Any:
    return api.client.post(
        "/api/v1/profiles",
        data=envelope(records, message_id=message_id).encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )


def test_xml_submit_acknowledges_each_record_and_a_resend_is_replayed(api: Api) -> None:
    answer = submit_xml(api, [profile("1", "Smith"), profile("2", "Br", country="France")])
    assert answer.status_code == 200
    ack = answer.json
    assert [r["status"] for r in ack["results"]] == ["created", "rejected"]
    rejected = ack["results"][1]
    assert rejected["code"] == "schema_invalid" and rejected["stage"] == "validate"
    assert rejected["errors"][0]["path"] == "/Profile/Addresses/Address/Country"
    again = submit_xml(api, [profile("1", "Changed")])  # same message id: nothing changes
    assert again.json["replayed"] is True
    assert again.json["results"] == ack["results"]
    assert api.gateway.profiles.count() == 1


def test_json_submit_validates_like_xml(api: Api) -> None:
    body = {
        "source": "crm",
        "profiles": [
            {"identifiers": [{"system": "crm", "key": "7"}], "person": {"family_name": "Roe"}},
            {"identifiers": [{"system": "crm", "key": "8"}], "persn": {}},
            {"identifiers": [{"system": "crm", "key": "9"}],
             "phones": [{"number": "not a phone"}]},
        ],
    }
    ack = api.client.post("/api/v1/profiles", json=body, headers=api.headers("admin")).json
    assert [r["status"] for r in ack["results"]] == ["created", "rejected", "rejected"]
    assert ack["results"][1]["stage"] == "map" and ack["results"][1]["errors"][0]["path"]
    assert ack["results"][2]["stage"] == "validate"
    bad = api.client.post("/api/v1/profiles", json={"x": 1}, headers=api.headers("admin"))
    assert bad.status_code == 400 and bad.json["error"]["path"] == "profiles"


def test_read_by_accept_with_etag_and_alias(api: Api) -> None:
    ack = submit_xml(api, [profile("1", "Smith"), profile("2", "Jones")]).json
    a, b = (r["id"] for r in ack["results"])
    admin = api.headers("admin")
    read = api.client.get(f"/api/v1/profiles/{a}", headers=admin)
    assert read.json["id"] == a and read.headers["ETag"] == f'"{a}.v1"'
    xml = api.client.get(f"/api/v1/profiles/{a}", headers={**admin, "Accept": "application/xml"})
    assert xml.mimetype == "application/xml" and b"<cpex:FamilyName>Smith<" in xml.data
    survivor = api.gateway.profiles.merge(a, b)
    alias = b if survivor == a else a
    via_alias = api.client.get(f"/api/v1/profiles/{alias}", headers=admin)
    assert via_alias.json["id"] == survivor
    assert via_alias.headers["Content-Location"] == f"/api/v1/profiles/{survivor}"


def test_conditional_writes(api: Api) -> None:
    (result,) = submit_xml(api, [profile("1", "Smith")]).json["results"]
    url = f"/api/v1/profiles/{result['id']}"
    admin = api.headers("admin")
    etag = api.client.get(url, headers=admin).headers["ETag"]
    missing = api.client.patch(url, json={"person": {"given_name": "Anna"}}, headers=admin)
    assert missing.status_code == 428 and missing.json["error"]["code"] == "precondition_required"
    patched = api.client.patch(
        url, json={"person": {"given_name": "Anna"}}, headers={**admin, "If-Match": etag}
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["person"]["given_name"] == "Anna" and patched.json["version"] == 2
    stale = api.client.put(
        url, json={"person": {"family_name": "X"}}, headers={**admin, "If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json["error"]["code"] == "version_conflict"
    assert api.client.get(url, headers=admin).json["person"]["given_name"] == "Anna"
    invalid = api.client.put(
        url, json={"identifiers": [{"system": "shop", "key": "1"}], "countr": 1},
        headers={**admin, "If-Match": patched.headers["ETag"]},
    )
    assert invalid.status_code == 400 and invalid.json["error"]["code"] == "model_error"
    unknown_country = api.client.put(
        url,
        json={"identifiers": [{"system": "shop", "key": "1"}],
              "person": {"family_name": "Smith"},
              "addresses": [{"type": "home", "country": "France"}]},
        headers={**admin, "If-Match": patched.headers["ETag"]},
    )
    assert unknown_country.status_code == 422, unknown_country.json
    assert unknown_country.json["error"]["code"] == "schema_invalid"


def test_search_lineage_and_unmerge(api: Api) -> None:
    ack = submit_xml(api, [
        profile("1", "Smith", email="Ann.Smith@Example.com"),
        profile("2", "Smith", email="ann.smith@example.com", system="shop"),
        profile("3", "Jones"),
    ]).json
    golden = ack["results"][0]["id"]
    assert ack["results"][1] == {"index": 2, "status": "merged", "id": golden}
    admin = api.headers("admin")
    found = api.client.get("/api/v1/profiles?email=ANN.SMITH@example.com", headers=admin).json
    assert [i["id"] for i in found["items"]] == [golden] and found["total"] == 1
    by_name = api.client.get("/api/v1/profiles?name=jon&limit=1", headers=admin).json
    assert by_name["total"] == 1 and by_name["items"][0]["name"] == "Ann Jones"
    lineage = api.client.get(f"/api/v1/profiles/{golden}/lineage", headers=admin).json
    assert lineage["fields"]["person.family_name"]["source_system"] == "shop"
    first, joined = lineage["source_records"]
    assert first["match"] is None  # it created the profile
    assert joined["match"]["via"] == "model" and joined["match"]["model"] == "default"
    assert joined["match"]["fields"]["email"] == {"level": "exact", "weight": 15.873}
    assert joined["match"]["total"] >= 0.99
    second = lineage["source_records"][1]["id"]
    split = api.client.post(
        f"/api/v1/profiles/{golden}/unmerge", json={"source_record_id": second}, headers=admin
    )
    assert split.status_code == 200 and split.json["new_id"] != golden
    bad = api.client.post(f"/api/v1/profiles/{golden}/unmerge", json={}, headers=admin)
    assert bad.status_code == 400 and bad.json["error"]["path"] == "source_record_id"


def test_openapi_describes_every_endpoint(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    for rule in api.app.url_map.iter_rules():
        if rule_of(api.app.view_functions[rule.endpoint]) is Access.CONSOLE:
            continue  # pages of the console, not API (tests/console)
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"] and operation["responses"], (method, rule.rule)
            # a summary from the view's docstring, not the endpoint name put in its place
            assert operation["summary"] != rule.endpoint, rule.endpoint
    post = document["paths"]["/api/v1/profiles"]["post"]
    assert post["security"] == [{"adminKey": []}]
    assert document["paths"]["/health"]["get"]["security"] == []
