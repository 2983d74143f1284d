"""Hostile and careless input over REST is a 4xx with the JSON error body naming the cause and
the place: never a 500, never a 503 with the database driver's words, never a server path
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api, at_once
from tests.web.test_review_quarantine_api import person

BIG = 2**63  # one past the largest id a database column holds
_LEAKS = re.compile(
    r"sqlite|psycopg|postgres|sqlalchemy|OperationalError|DataError|IntegrityError|"
    r"Traceback|/tmp/|cpex-preview|\.yaml'|/work/",
    re.IGNORECASE,
)


def assert_client_error(answer: Any, status: int, *, path: str | None = None) -> dict[str, Any]:
    """``answer`` is ``status`` with the JSON error body, and tells nothing of the server."""
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:500])
    error: dict[str, Any] = answer.json["error"]
    assert error["code"] and error["message"]
    assert not _LEAKS.search(answer.get_data(as_text=True)), error
    if path is not None:
        assert error.get("path") == path, error
    return error


def submit(api: Api, records: list[str], message_id: str) -> list[dict[str, Any]]:
    answer = api.client.post(
        "/api/v1/profiles",
        data=envelope(records, message_id=message_id).encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.json
    results: list[dict[str, Any]] = answer.json["results"]
    return results


# --- query strings and paths -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A3", "1e3", "-1", "99999999999999999999999"])
def test_a_paging_argument_that_is_not_ascii_digits_is_400(api: Api, name: str, value: str) -> None:
    for url in ("/api/v1/profiles", "/api/v1/review", "/api/v1/quarantine", "/api/v1/deliveries"):
        answer = api.client.get(f"{url}?{name}={value}", headers=api.headers("admin"))
        assert_client_error(answer, 400, path=name)


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/review/{BIG}",
        f"/api/v1/review/{2**64}",
        f"/api/v1/quarantine/{BIG}",
        f"/api/v1/deliveries/{BIG}",
        f"/api/v1/mappings/cpex-in/history/{BIG}",
    ],
)
def test_an_id_past_the_database_range_is_not_found(api: Api, url: str) -> None:
    assert_client_error(api.client.get(url, headers=api.headers("admin")), 404)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", f"/api/v1/review/{BIG}/approve"),
        ("post", f"/api/v1/quarantine/{BIG}/retry"),
        ("post", f"/api/v1/deliveries/{BIG}/retry"),
        ("post", f"/api/v1/mappings/cpex-in/rollback/{BIG}"),
    ],
)
def test_an_action_on_an_id_past_the_database_range_is_not_found(
    api: Api, method: str, url: str
) -> None:
    answer = getattr(api.client, method)(url, headers=api.headers("admin"))
    assert_client_error(answer, 404)


def test_a_100k_character_name_search_is_400(api: Api) -> None:
    submit(api, [profile("1", "Smith")], "m")
    answer = api.client.get(f"/api/v1/profiles?name={'a' * 100_000}", headers=api.headers("admin"))
    assert_client_error(answer, 400, path="name")


@pytest.mark.parametrize("value", ["%00", "a%00b", "%01"])
def test_control_characters_in_the_query_or_path_are_400(api: Api, value: str) -> None:
    admin = api.headers("admin")
    assert_client_error(api.client.get(f"/api/v1/profiles?name={value}", headers=admin), 400)
    assert_client_error(api.client.get(f"/api/v1/profiles/gp_{value}", headers=admin), 400)


def test_an_overlong_golden_id_is_400(api: Api) -> None:
    answer = api.client.get(f"/api/v1/profiles/{'g' * 5000}", headers=api.headers("admin"))
    assert_client_error(answer, 400)


# --- JSON bodies -----------------------------------------------------------------------------


def _profile_json(given: str = "Ann") -> str:
    return (
        '{"identifiers": [{"system": "crm", "key": "7"}], '
        f'"person": {{"given_name": "{given}", "family_name": "Roe"}}}}'
    )


@pytest.mark.parametrize("text", [r"\ud800", r"\udfff", r"a\ud800b", r"\u0000"])
def test_a_lone_surrogate_or_nul_in_a_json_body_is_400(api: Api, text: str) -> None:
    admin = {**api.headers("admin"), "Content-Type": "application/json"}
    body = f'{{"source": "crm", "profiles": [{_profile_json(text)}]}}'
    answer = api.client.post("/api/v1/profiles", data=body.encode(), headers=admin)
    error = assert_client_error(answer, 400)
    assert "profiles[0].person.given_name" in error["message"]
    (created,) = submit(api, [profile("1", "Smith")], "m")
    url = f"/api/v1/profiles/{created['id']}"
    etag = api.client.get(url, headers=admin).headers["ETag"]
    for method in ("put", "patch"):
        patch = f'{{"person": {{"given_name": "{text}"}}}}'
        body = _profile_json(text) if method == "put" else patch
        answer = getattr(api.client, method)(
            url, data=body.encode(), headers={**admin, "If-Match": etag}
        )
        assert_client_error(answer, 400)
    assert api.client.get(url, headers=admin).json["version"] == 1  # nothing changed


@pytest.mark.parametrize("depth", [3_000, 100_000])
def test_json_nested_thousands_deep_is_400(api: Api, depth: int) -> None:
    admin = {**api.headers("admin"), "Content-Type": "application/json"}
    deep = "[" * depth + "]" * depth
    body = f'{{"source": "crm", "profiles": [{deep}]}}'
    assert_client_error(api.client.post("/api/v1/profiles", data=body, headers=admin), 400)
    (created,) = submit(api, [profile("1", "Smith")], f"m{depth}")
    url = f"/api/v1/profiles/{created['id']}"
    etag = api.client.get(url, headers=admin).headers["ETag"]
    patch = '{"person": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    answer = api.client.patch(url, data=patch, headers={**admin, "If-Match": etag})
    assert_client_error(answer, 400)
    unmerge = api.client.post(f"{url}/unmerge", data=deep, headers=admin)
    assert_client_error(unmerge, 400)


def test_an_unmerge_id_past_the_database_range_is_400(api: Api) -> None:
    (created,) = submit(api, [profile("1", "Smith")], "m")
    url = f"/api/v1/profiles/{created['id']}/unmerge"
    answer = api.client.post(url, json={"source_record_id": BIG}, headers=api.headers("admin"))
    assert_client_error(answer, 400, path="source_record_id")


# --- identity: unmerge and review -----------------------------------------------------------


def test_unmerge_of_another_profiles_record_is_not_found_and_names_no_other_profile(
    api: Api,
) -> None:
    smith, jones = submit(api, [profile("1", "Smith"), profile("2", "Jones")], "m")
    admin = api.headers("admin")
    jones_records = api.client.get(f"/api/v1/profiles/{jones['id']}/lineage", headers=admin)
    (record,) = jones_records.json["source_records"]
    answer = api.client.post(
        f"/api/v1/profiles/{smith['id']}/unmerge",
        json={"source_record_id": record["id"]},
        headers=admin,
    )
    error = assert_client_error(answer, 404)
    assert jones["id"] not in answer.get_data(as_text=True), error
    unknown = api.client.post(
        f"/api/v1/profiles/{smith['id']}/unmerge",
        json={"source_record_id": 987654},
        headers=admin,
    )
    assert_client_error(unknown, 404)
    same = error["message"].replace(f"'{record['id']}'", "'987654'")
    assert unknown.json["error"]["message"] == same  # no oracle: the same words either way


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_two_stewards_deciding_one_review_item_at_once_one_is_409(api: Api, decision: str) -> None:
    submit(api, [person("1", "Jonathan", "Smith", "1980-01-02", "LS1 4AP")], "a")
    submit(api, [person("2", "Jon", "Smith", "1981-07-09", "LS1 4AP")], "b")  # a near match
    items = api.client.get("/api/v1/review", headers=api.headers("admin")).json["items"]
    assert items, "the near match should be proposed for review"
    url = f"/api/v1/review/{items[0]['id']}/{decision}"
    clients = [api.app.test_client() for _ in range(2)]
    answers = at_once(*(lambda c=c: c.post(url, headers=api.headers("admin")) for c in clients))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.json for a in answers]
    (lost,) = [a for a in answers if a.status_code == 409]
    assert_client_error(lost, 409)
    assert lost.json["error"]["code"] == "review_decided"


# --- mappings --------------------------------------------------------------------------------


def test_yaml_nested_50k_deep_is_refused(mapping_api: Api) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    answer = mapping_api.client.put(
        "/api/v1/mappings/cpex-in", data=deep.encode(), headers=mapping_api.headers("admin")
    )
    assert_client_error(answer, 422)
    flow = "a:\n" + "".join(f"{'  ' * i}b{i}:\n" for i in range(1, 200)) + "{" * 50_000
    answer = mapping_api.client.put(
        "/api/v1/mappings/cpex-in", data=flow.encode(), headers=mapping_api.headers("admin")
    )
    assert_client_error(answer, 422)


def test_a_mapping_text_that_is_not_utf8_is_400(mapping_api: Api) -> None:
    answer = mapping_api.client.put(
        "/api/v1/mappings/cpex-in",
        data=b"version: 1\nname: \xff\xfe\n",
        headers=mapping_api.headers("admin"),
    )
    assert_client_error(answer, 400)


@pytest.mark.parametrize(
    ("mapping", "mimetype", "body"),
    [
        ("erp-customers-csv", "text/csv", b""),
        ("erp-customers-csv", "text/csv", b'\x00\x01\x02garbage\xff\xfe\n\x00,,"\n'),
        ("erp-customers-csv", "text/csv", b'"unterminated,quote\n1,2'),
        ("erp-customers-csv", "text/csv", b"no,header,we,know\n1,2,3,4\n"),
        ("cpex-in", "application/xml", b""),
        ("cpex-in", "application/xml", b"\xff\xfe<garbage"),
        ("personalization-json", "application/json", b""),
        ("personalization-json", "application/json", b"[1, 2, {"),
        ("personalization-json", "application/json", b"\x89PNG\r\n"),
    ],
)
def test_preview_of_an_empty_or_garbage_sample_is_a_client_error(
    mapping_api: Api, mapping: str, mimetype: str, body: bytes
) -> None:
    answer = mapping_api.client.post(
        f"/api/v1/mappings/{mapping}/preview",
        data=body,
        headers={**mapping_api.headers("admin"), "Content-Type": mimetype},
    )
    if answer.status_code == 200:  # read, and every record refused with its errors
        assert all(r["errors"] for r in answer.json["records"]), answer.json
    else:
        assert answer.status_code in (400, 413, 422), answer.json
        assert_client_error(answer, answer.status_code)
