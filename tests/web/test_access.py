"""Every endpoint x (no credentials, partner key, admin key, bad key): the status codes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from gateway.model import Identifier, Person, Profile
from gateway.security.credentials import CredentialStore, Role
from gateway.store.profiles import ProfileStore
from gateway.web.access import Access, rule_of
from tests.web.conftest import Api

# endpoint -> expected status for (none, partner, admin)
MATRIX = {
    "/health": (200, 200, 200),
    "/metrics": (401, 403, 200),  # monitor keys too: tests/web/test_metrics.py
    "/api/v1/profiles": (401, 403, 200),
    "/api/v1/profiles/{id}": (401, 403, 200),
    "/api/v1/mappings": (401, 403, 200),
    "/api/v1/mappings/{name}": (401, 403, 200),
    "PUT /api/v1/mappings/{name}": (401, 403, 422),  # an empty text does not check
    "POST /api/v1/mappings/reload": (401, 403, 200),
    "POST /api/v1/mappings/{name}/preview": (401, 403, 400),  # an empty sample
    "/api/v1/mappings/{name}/history": (401, 403, 200),
    "/api/v1/mappings/{name}/history/{version}": (401, 403, 404),  # nothing saved yet
    "POST /api/v1/mappings/{name}/rollback/{version}": (401, 403, 404),
    "/api/v1/jobs": (401, 403, 200),
    "/api/v1/jobs/{name}/runs": (401, 403, 200),
    "POST /api/v1/jobs/{name}/run": (401, 403, 202),
    "POST /api/v1/jobs/{name}/pause": (401, 403, 200),
    "POST /api/v1/jobs/{name}/resume": (401, 403, 200),
    "/api/v1/profiles/{id}/disclosures": (401, 403, 200),
    "/api/v1/profiles/{id}/history": (401, 403, 200),
    # Profiles, review and quarantine (the ingest pipeline issue). Empty bodies: 400; a write
    # without If-Match: 428; unknown review items and quarantine entries: 404.
    "POST /api/v1/profiles": (401, 403, 400),
    "PUT /api/v1/profiles/{id}": (401, 403, 428),
    "PATCH /api/v1/profiles/{id}": (401, 403, 428),
    "/api/v1/profiles/{id}/lineage": (401, 403, 200),
    "POST /api/v1/profiles/{id}/unmerge": (401, 403, 400),
    "/api/v1/review": (401, 403, 200),
    "/api/v1/review/{item_id}": (401, 403, 404),
    "POST /api/v1/review/{item_id}/approve": (401, 403, 404),
    "POST /api/v1/review/{item_id}/reject": (401, 403, 404),
    "/api/v1/erasure-requests": (401, 403, 200),
    "/api/v1/erasure-requests/{request_id}": (401, 403, 404),
    "POST /api/v1/erasure-requests/{request_id}/approve": (401, 403, 404),
    "POST /api/v1/erasure-requests/{request_id}/reject": (401, 403, 404),
    "/api/v1/quarantine": (401, 403, 200),
    "/api/v1/quarantine/{entry_id}": (401, 403, 404),
    "POST /api/v1/quarantine/{entry_id}/retry": (401, 403, 404),
    "POST /api/v1/quarantine/{entry_id}/discard": (401, 403, 404),
    "/api/v1/openapi.json": (200, 200, 200),
    "/api/v1/profiles/{id}/export": (401, 403, 200),
    "DELETE /api/v1/profiles/{id}": (401, 403, 200),
    "/api/v1/deliveries": (401, 403, 200),
    "/api/v1/deliveries/{delivery_id}": (401, 403, 404),  # none queued
    "POST /api/v1/deliveries/{delivery_id}/retry": (401, 403, 404),
    "POST /api/v1/deliveries/{delivery_id}/replay": (401, 403, 404),
    # Partner exchange: an empty POST passes the access check for a partner (400: not XML); the
    # SOAP endpoint is public at the Flask level and answers refusals with Faults (HTTP 500). The
    # full matrix with a wrong partner is in tests/web/test_exchange.py and test_soap.py.
    "POST /cpex/v1/exchange": (401, 400, 403),
    "POST /soap/v1/exchange": (500, 500, 500),
    "/soap/v1/exchange": (200, 200, 200),  # the WSDL
    "/soap/v1/cpex-exchange-1.0.xsd": (200, 200, 200),
    "/soap/v1/cpex-profile-1.0.xsd": (200, 200, 200),
    "/soap/v1/cpex-profile-1.1.xsd": (200, 200, 200),
    # A partner's own format: the test partner sends CPEX, so it is told to use the exchange.
    "POST /cpex/v1/records": (401, 400, 403),
}
JOB = "audit-purge"  # a job of config/jobs.toml


def _stored_id(engine: Engine) -> str:
    profile = Profile(identifiers=(Identifier("crm", "1"),), person=Person(family_name="Dupont"))
    saved = ProfileStore(engine).save_source_profile(profile, source_system="crm", raw="<x/>")
    return saved.golden_id


def _template(rule: str) -> str:
    """A Flask rule as written in MATRIX: ``<int:version>`` -> ``{version}``, ``<golden_id>`` ->
    ``{id}``."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule).replace("{golden_id}", "{id}")


def _fill(template: str, golden_id: str) -> str:
    name = "cpex-in" if "/mappings/" in template else JOB
    return template.format(id=golden_id, name=name, version=1, delivery_id=1,
                           item_id=1, entry_id=1, request_id=1)


def test_matrix_covers_every_endpoint(api: Api) -> None:
    """Console pages sign in by session, not key: tests/console/test_session.py walks them."""
    rules = {_template(r.rule) for r in api.app.url_map.iter_rules()
             if rule_of(api.app.view_functions[r.endpoint]) is not Access.CONSOLE}
    assert rules == {key.split(" ")[-1] for key in MATRIX}


@pytest.mark.parametrize("path", sorted(MATRIX))
def test_status_by_credential(api: Api, migrated_engine: Engine, path: str) -> None:
    method, _, template = path.rpartition(" ")
    url = _fill(template, _stored_id(migrated_engine))
    call = {"POST": api.client.post, "PUT": api.client.put,
            "DELETE": api.client.delete, "PATCH": api.client.patch}.get(method, api.client.get)
    got = tuple(
        call(url, headers=api.headers(who)).status_code for who in ("none", "partner", "admin")
    )
    assert got == MATRIX[path]


def test_unknown_revoked_and_malformed_keys_are_401(api: Api, migrated_engine: Engine) -> None:
    store = CredentialStore(migrated_engine)
    issued = store.issue("temp", Role.ADMIN)
    url = "/api/v1/profiles"
    assert api.client.get(url, headers={"X-API-Key": issued.token}).status_code == 200
    store.revoke(issued.principal.key_id)
    for token in (issued.token, "cpex_000000000000_nope", "not-a-key", api.admin_key + "x"):
        answer = api.client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, token
        assert answer.json["error"]["code"] == "unauthenticated"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_keys_are_stored_only_as_hashes(api: Api, migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT key_id, secret_hash FROM api_credential").all()
    assert len(rows) == 2
    for _key_id, secret_hash in rows:
        assert len(secret_hash) == 64
        assert api.admin_key not in secret_hash and api.partner_key not in secret_hash


def test_profile_read_and_listing(api: Api, migrated_engine: Engine) -> None:
    golden_id = _stored_id(migrated_engine)
    answer = api.client.get(f"/api/v1/profiles/{golden_id}", headers=api.headers("admin"))
    assert answer.json["person"] == {"family_name": "Dupont"}
    assert answer.json["id"] == golden_id
    listing = api.client.get("/api/v1/profiles?limit=10", headers=api.headers("admin")).json
    assert listing["total"] == 1 and listing["items"][0]["id"] == golden_id
    bad = api.client.get("/api/v1/profiles?limit=0", headers=api.headers("admin"))
    assert bad.status_code == 400 and "'limit'" in bad.json["error"]["message"]
    missing = api.client.get("/api/v1/profiles/gp_nope", headers=api.headers("admin"))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_openapi_states_the_success_status_each_endpoint_answers(api: Api) -> None:
    """The admin column of the matrix is what the endpoints really answered: every 2xx there is
    the success status the OpenAPI description states."""
    paths = api.client.get("/api/v1/openapi.json").json["paths"]
    for key, (_, _, admin) in MATRIX.items():
        method, _, template = key.rpartition(" ")
        if 200 <= admin < 300:
            path = template.replace("{id}", "{golden_id}")
            responses = paths[path][(method or "GET").lower()]["responses"]
            assert str(admin) in responses, key
