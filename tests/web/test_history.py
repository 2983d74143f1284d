"""``/api/v1/profiles/<id>/history``: the audit trail of a golden profile, including the ids
merged into it; ids and field paths only (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api


def test_history_follows_create_edit_and_merge(api: Api) -> None:
    admin = api.headers("admin")
    batch = envelope([profile("1", "Smith", email="ann.smith@example.org"),
                      profile("2", "Jones")])
    ack = api.client.post("/api/v1/profiles", data=batch.encode(),
                          headers={**admin, "Content-Type": "application/xml"}).json
    first, second = (r["id"] for r in ack["results"])
    etag = api.client.get(f"/api/v1/profiles/{first}", headers=admin).headers["ETag"]
    patched = api.client.patch(f"/api/v1/profiles/{first}", json={"person": {"given_name": "Bo"}},
                               headers={**admin, "If-Match": etag})
    assert patched.status_code == 200, patched.json

    own = api.client.get(f"/api/v1/profiles/{first}/history", headers=admin).json
    assert [e["action"] for e in own["entries"]] == ["golden.create", "golden.update"]
    assert own["entries"][1]["actor"] == "api:ops"  # the admin key's name
    assert own["entries"][1]["fields"] == ["person"]  # the section touched
    assert "ann.smith" not in str(own) and "Smith" not in str(own)  # no values, ever

    survivor = api.gateway.profiles.merge(first, second)
    absorbed = second if survivor == first else first
    via_alias = api.client.get(f"/api/v1/profiles/{absorbed}/history", headers=admin).json
    assert via_alias["id"] == survivor and via_alias["merged_ids"] == [absorbed]
    actions = [e["action"] for e in via_alias["entries"]]
    assert actions.count("golden.create") == 2 and actions[-1] == "golden.merge"
    page = api.client.get(f"/api/v1/profiles/{survivor}/history?limit=1&offset=1",
                          headers=admin).json
    assert [e["id"] for e in page["entries"]] == [via_alias["entries"][1]["id"]]
    missing = api.client.get("/api/v1/profiles/gp_nope/history", headers=admin)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
