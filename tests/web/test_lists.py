"""List endpoints page the same way and name the bad parameter (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.web.conftest import Api


def test_bad_list_parameters_are_400_with_their_name(api: Api) -> None:
    admin = api.headers("admin")
    for url, path in (("/api/v1/deliveries?limit=0", "limit"),
                      ("/api/v1/deliveries?offset=-1", "offset"),
                      ("/api/v1/deliveries?status=lost", "status"),
                      ("/api/v1/jobs/audit-purge/runs?limit=abc", "limit"),
                      ("/api/v1/profiles?limit=501", "limit")):
        answer = api.client.get(url, headers=admin)
        assert answer.status_code == 400, url
        assert answer.json["error"]["path"] == path, url


def test_deliveries_page_with_limit_and_offset(api: Api) -> None:
    page = api.client.get("/api/v1/deliveries?limit=5&offset=10", headers=api.headers("admin"))
    assert page.status_code == 200
    assert (page.json["limit"], page.json["offset"], page.json["items"]) == (5, 10, [])
