"""HTTP as clients expect it: a 405 says which methods are allowed, and a weak ETag never
satisfies If-Match (RFC 9110: If-Match uses the strong comparison) — SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("delete", "/api/v1/profiles", {"GET", "POST"}),
        ("post", "/api/v1/openapi.json", {"GET"}),
        ("get", "/api/v1/review/1/approve", {"POST"}),
        ("put", "/api/v1/quarantine", {"GET"}),
        ("post", "/health", {"GET"}),
    ],
)
def test_405_carries_allow(api: Api, method: str, url: str, allowed: set[str]) -> None:
    answer = getattr(api.client, method)(url, headers=api.headers("admin"))
    assert answer.status_code == 405
    assert answer.json["error"]["code"] == "method_not_allowed"
    assert allowed <= {m.strip() for m in answer.headers["Allow"].split(",")}
    assert answer.mimetype == "application/json"


def test_a_weak_etag_never_satisfies_if_match(api: Api) -> None:
    answer = api.client.post(
        "/api/v1/profiles",
        data=envelope([profile("1", "Smith")]).encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )
    url = f"/api/v1/profiles/{answer.json['results'][0]['id']}"
    admin = api.headers("admin")
    etag = api.client.get(url, headers=admin).headers["ETag"]
    patch = {"person": {"given_name": "Anna"}}
    for header in (f"W/{etag}", f'"other", W/{etag}'):
        weak = api.client.patch(url, json=patch, headers={**admin, "If-Match": header})
        assert weak.status_code == 412, weak.json
        assert weak.json["error"]["code"] == "version_conflict"
    assert api.client.get(url, headers=admin).json["version"] == 1
    strong = api.client.patch(url, json=patch, headers={**admin, "If-Match": f'"x", {etag}'})
    assert strong.status_code == 200, strong.json
