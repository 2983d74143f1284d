"""Review queue and quarantine over REST (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api


def post(api: Api, records: list[str], message_id: str) -> list[dict[str, object]]:
    answer = api.client.post(
        "/api/v1/profiles",
        data=envelope(records, message_id=message_id).encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )
    results: list[dict[str, object]] = answer.json["results"]
    return results


def person(key: str, given: str, family: str, birth: str, postcode: str) -> str:
    return (
        f'<cpex:Profile><cpex:Identifiers><cpex:Identifier system="shop" key="{key}"/>'
        f"</cpex:Identifiers><cpex:Person><cpex:GivenName>{given}</cpex:GivenName>"
        f"<cpex:FamilyName>{family}</cpex:FamilyName><cpex:BirthDate>{birth}</cpex:BirthDate>"
        f'</cpex:Person><cpex:Addresses><cpex:Address type="home"><cpex:City>Leeds</cpex:City>'
        f"<cpex:PostalCode>{postcode}</cpex:PostalCode><cpex:Country>GB</cpex:Country>"
        "</cpex:Address></cpex:Addresses></cpex:Profile>"
    )


def test_review_list_approve_reject(api: Api) -> None:
    post(api, [person("1", "Jonathan", "Smith", "1980-01-02", "LS1 4AP")], "a")
    # Near matches with another birth date: a person's eye, not an automatic merge.
    post(api, [person("2", "Jon", "Smith", "1981-07-09", "LS1 4AP")], "b")
    post(api, [person("3", "John", "Smithson", "1979-11-30", "LS1 4AP")], "c")
    admin = api.headers("admin")
    items = api.client.get("/api/v1/review", headers=admin).json["items"]
    assert items, "the near matches should be proposed for review"
    first = items[0]
    assert first["golden"] is not None and first["candidate"] is not None
    assert first["details"]["reason"] == "model" and first["details"]["model"] == "default"
    assert first["details"]["fields"]["birth_date"]["level"] == "different"
    assert 0.8 <= first["score"] < 0.99
    one = api.client.get(f"/api/v1/review/{first['id']}", headers=admin).json
    assert one["id"] == first["id"]
    approved = api.client.post(f"/api/v1/review/{first['id']}/approve", headers=admin)
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    twice = api.client.post(f"/api/v1/review/{first['id']}/reject", headers=admin)
    assert twice.status_code == 409 and twice.json["error"]["code"] == "review_decided"
    rest = api.client.get("/api/v1/review", headers=admin).json["items"]
    for item in rest:
        rejected = api.client.post(f"/api/v1/review/{item['id']}/reject", headers=admin)
        assert rejected.status_code == 200
    bad = api.client.get("/api/v1/review?status=maybe", headers=admin)
    assert bad.status_code == 400 and bad.json["error"]["path"] == "status"


def test_quarantine_list_show_retry_discard(api: Api) -> None:
    results = post(api, [profile("1", "A", country="xx"), profile("2", "B", country="yy")], "q")
    ids = [r["quarantine_id"] for r in results]
    admin = api.headers("admin")
    listing = api.client.get("/api/v1/quarantine", headers=admin).json
    assert listing["total"] == 2 and [e["id"] for e in listing["items"]] == ids
    assert "raw" not in listing["items"][0]
    shown = api.client.get(f"/api/v1/quarantine/{ids[0]}", headers=admin).json
    assert shown["stage"] == "validate" and 'key="1"' in shown["raw"]
    retried = api.client.post(f"/api/v1/quarantine/{ids[0]}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json["result"]["status"] == "rejected"
    discarded = api.client.post(f"/api/v1/quarantine/{ids[1]}/discard", headers=admin)
    assert discarded.json["status"] == "discarded"
    again = api.client.post(f"/api/v1/quarantine/{ids[1]}/retry", headers=admin)
    assert again.status_code == 409 and again.json["error"]["code"] == "quarantine_closed"
    everything = api.client.get("/api/v1/quarantine?status=all", headers=admin).json
    assert everything["total"] == 2
    assert api.client.get("/api/v1/quarantine/999", headers=admin).status_code == 404
