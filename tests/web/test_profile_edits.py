"""Editing one golden profile again and again through ``/api/v1/profiles/<id>``: PUT JSON, PUT
CPEX XML and PATCH, each several times in a row with the ETag of the previous answer, and two
edits racing with the same ``If-Match`` (one wins, the other is 412) — SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.pipeline.conftest import NS, envelope, profile
from tests.web.conftest import Api, at_once

ROUNDS = 3


def _created(api: Api) -> str:
    answer = api.client.post(
        "/api/v1/profiles",
        data=envelope([profile("1", "Smith")]).encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.json
    (result,) = answer.json["results"]
    return str(result["id"])


def _xml(family: str) -> bytes:
    return (
        f'<cpex:Profile {NS}><cpex:Identifiers><cpex:Identifier system="shop" key="1"/>'
        f"</cpex:Identifiers><cpex:Person><cpex:GivenName>Ann</cpex:GivenName>"
        f"<cpex:FamilyName>{family}</cpex:FamilyName></cpex:Person></cpex:Profile>"
    ).encode()


def _edit(client: FlaskClient, api: Api, method: str, url: str, etag: str, n: int) -> Any:
    headers = {**api.headers("admin"), "If-Match": etag}
    if method == "put-json":
        body = {
            "identifiers": [{"system": "shop", "key": "1"}],
            "person": {"given_name": "Ann", "family_name": f"Smith-{n}"},
        }
        return client.put(url, json=body, headers=headers)
    if method == "put-xml":
        return client.put(
            url, data=_xml(f"Smith-{n}"), headers={**headers, "Content-Type": "application/xml"}
        )
    return client.patch(url, json={"person": {"family_name": f"Smith-{n}"}}, headers=headers)


def test_each_method_edits_the_same_profile_again_and_again(api: Api) -> None:
    url = f"/api/v1/profiles/{_created(api)}"
    admin = api.headers("admin")
    read = api.client.get(url, headers=admin)
    etag, version = read.headers["ETag"], read.json["version"]
    n = 0
    for method in ("put-json", "put-xml", "patch"):
        for _ in range(ROUNDS):
            n += 1
            answer = _edit(api.client, api, method, url, etag, n)
            assert answer.status_code == 200, (method, n, answer.json)
            assert answer.json["person"]["family_name"] == f"Smith-{n}", method
            assert answer.json["version"] == version + 1, method
            assert answer.headers["ETag"] != etag
            etag, version = answer.headers["ETag"], answer.json["version"]
    stored = api.client.get(url, headers=admin)
    assert stored.headers["ETag"] == etag
    assert stored.json["person"]["family_name"] == f"Smith-{n}"
    # the admin's corrections are one source record, updated in place
    lineage = api.client.get(f"{url}/lineage", headers=admin).json
    systems = sorted(r["source_system"] for r in lineage["source_records"])
    assert systems == ["gateway-admin", "shop"]


def _race(api: Api, url: str, etag: str, n: int) -> list[Any]:
    """Two PATCHes with the same If-Match, started together; their answers."""
    clients = [api.app.test_client() for _ in range(2)]
    return at_once(
        *(lambda i=i: _edit(clients[i], api, "patch", url, etag, n + i) for i in range(2))
    )


def test_two_edits_with_the_same_etag_one_wins_one_is_412(api: Api) -> None:
    url = f"/api/v1/profiles/{_created(api)}"
    etag = api.client.get(url, headers=api.headers("admin")).headers["ETag"]
    for n in (10, 20):  # the second round races on a profile edited before
        answers = _race(api, url, etag, n)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 412], [a.json for a in answers]
        (won,) = [a for a in answers if a.status_code == 200]
        (lost,) = [a for a in answers if a.status_code == 412]
        assert lost.json["error"]["code"] == "version_conflict"
        current = api.client.get(url, headers=api.headers("admin"))
        assert current.json["person"]["family_name"] == won.json["person"]["family_name"]
        etag = current.headers["ETag"]
