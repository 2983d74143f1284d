"""``POST /cpex/v1/exchange``: upsert, query and erase over REST, errors, limits and the matrix."""

from __future__ import annotations

import dataclasses
import http.client
from urllib.parse import urlsplit

import pytest
from lxml import etree

from gateway.model import Identifier, to_dict
from gateway.model.envelope import ProfileRef, QueryResult, envelope_from_element
from gateway.model.namespaces import CPEX_EXCHANGE_NS
from gateway.pipeline.runner import Batch, Pipeline
from gateway.store.profiles import ProfileStore
from gateway.xml.parser import parse_bytes
from tests.web.conftest import Api
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    Exchange,
    consent,
    erase,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    person,
    query,
    registry_fixture,
    upsert,
)

URL = "/cpex/v1/exchange"
WHO = ("none", "wrong", "partner", "admin")


def post(ex: Exchange, body: bytes, who: str = "partner", **headers: str) -> object:
    return ex.api.client.post(URL, data=body, headers={**ex.headers(who), **headers})


def answer_of(ex: Exchange, response: object) -> object:
    """The answer envelope, after checking it validates against the exchange XSD."""
    root = parse_bytes(response.data).getroot()  # type: ignore[attr-defined]
    ex.api.gateway.schemas.validate(root, namespace=CPEX_EXCHANGE_NS)
    return envelope_from_element(root)


def stored(ex: Exchange, key: str, *consents: object) -> str:
    answer = answer_of(ex, post(ex, upsert(person(key, *consents))))
    result = answer.body.results[0]  # type: ignore[attr-defined]
    assert result.status in ("created", "updated"), result
    return str(result.profile_id)


# --- the endpoint x credential matrix -------------------------------------------------------------

MATRIX = {
    # request -> status for (no credentials, wrong partner, right partner, admin)
    "upsert": (401, 403, 200, 403),
    "query": (401, 403, 200, 403),
    "erase": (401, 403, 200, 403),
}


@pytest.mark.parametrize("operation", sorted(MATRIX))
def test_matrix(exchange: Exchange, operation: str) -> None:
    golden_id = stored(exchange, "m1", consent())
    body = {
        "upsert": upsert(person("m2")),
        "query": query(profile_id=golden_id),
        "erase": erase(ProfileRef(profile_id=golden_id)),
    }[operation]
    got = tuple(post(exchange, body, who).status_code for who in WHO)
    assert got == MATRIX[operation]


def test_wrong_partner_with_its_own_sender_may_query_but_not_upsert(exchange: Exchange) -> None:
    ok = post(exchange, query(sender="partner:globex", family_name="x"), "wrong")
    assert ok.status_code == 200
    refused = post(exchange, upsert(person("g1"), sender="partner:globex"), "wrong")
    assert refused.status_code == 403
    assert "may not upsert" in refused.json["error"]["message"]


# --- upsert ---------------------------------------------------------------------------------------


def test_upsert_acknowledges_each_record(exchange: Exchange) -> None:
    foreign = dataclasses.replace(person("x1"), identifiers=(Identifier("erp", "E-x1"),))
    response = post(exchange, upsert(person("u1"), foreign, person("u3"),
                                     message_id="msg-upsert-1"))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    answer = answer_of(exchange, response)
    results = answer.body.results  # type: ignore[attr-defined]
    assert [r.status for r in results] == ["created", "rejected", "created"]
    assert results[1].errors[0].code == "foreign_identifier"
    assert "partner:acme" in results[1].errors[0].message
    assert answer.header.correlation_id == "msg-upsert-1"  # type: ignore[attr-defined]
    assert ProfileStore(exchange.api.gateway.engine).count() == 2


def test_a_message_sent_again_gets_the_same_answer_and_changes_nothing(
        exchange: Exchange) -> None:
    store = ProfileStore(exchange.api.gateway.engine)
    first = answer_of(exchange, post(exchange, upsert(person("r1"), message_id="m-42")))
    [created] = first.body.results  # type: ignore[attr-defined]
    renamed = person("r1", family="Changed")
    again = answer_of(exchange, post(exchange, upsert(renamed, message_id="m-42")))
    assert again.body.results == first.body.results  # type: ignore[attr-defined]
    assert store.get(created.profile_id).person.family_name != "Changed"  # type: ignore[union-attr]
    fresh = answer_of(exchange, post(exchange, upsert(renamed, message_id="m-43")))
    assert [r.status for r in fresh.body.results] == ["updated"]  # type: ignore[attr-defined]
    assert store.get(created.profile_id).person.family_name == "Changed"  # type: ignore[union-attr]


# --- query and disclosure -------------------------------------------------------------------------


def test_query_discloses_only_with_consent_and_records_it(exchange: Exchange) -> None:
    """The ERP's people (its consents are trusted): only the one who consented is disclosed."""
    def from_erp(key: str, *consents: object) -> str:
        profile = dataclasses.replace(person(key, *consents),  # type: ignore[arg-type]
                                      identifiers=(Identifier("erp", f"E-{key}"),))
        report = Pipeline(exchange.api.gateway, Batch("erp", "erp")).run_documents(
            [to_dict(profile)])
        return str(report.acknowledgement()["results"][0]["id"])

    allowed = from_erp("q1", consent())
    from_erp("q2")  # no consent: never disclosed
    response = post(exchange, query(email="Q1@example.org"))
    answer = answer_of(exchange, response)
    assert isinstance(answer.body, QueryResult)  # type: ignore[attr-defined]
    profiles = answer.body.profiles  # type: ignore[attr-defined]
    assert [p.id for p in profiles] == [allowed]
    assert [(i.system, i.key) for i in profiles[0].identifiers] == [("cpex", allowed)]
    assert post(exchange, query(email="q2@example.org")).data.count(b"Profile") == 0

    listing = exchange.api.client.get(
        f"/api/v1/profiles/{allowed}/disclosures", headers=exchange.headers("admin")
    ).json
    assert listing["count"] == 1
    entry = listing["disclosures"][0]
    assert entry["partner"] == "acme" and entry["purpose"] == "contact"
    assert entry["message_id"] == answer.header.message_id  # type: ignore[attr-defined]
    assert entry["channel"] == "rest"
    assert "emails" in entry["fields"] and "person.family_name" in entry["fields"]


def test_a_partner_gets_its_own_records_back_without_a_disclosure(exchange: Exchange) -> None:
    """Its own data is not a disclosure: answered whatever the consents, never audited."""
    golden_id = stored(exchange, "o1")  # no consent at all
    answer = answer_of(exchange, post(exchange, query(email="o1@example.org")))
    assert [p.id for p in answer.body.profiles] == [golden_id]  # type: ignore[attr-defined]
    listing = exchange.api.client.get(
        f"/api/v1/profiles/{golden_id}/disclosures", headers=exchange.headers("admin")
    ).json
    assert listing["count"] == 0


def test_query_by_family_name_and_postcode(exchange: Exchange) -> None:
    golden_id = stored(exchange, "n1", consent())
    shape = person("n1")
    assert shape.person is not None and shape.person.family_name is not None
    postcode = shape.addresses[0].postal_code or ""
    found = answer_of(exchange, post(exchange, query(
        family_name=shape.person.family_name.upper(), postal_code=postcode.replace(" ", "").lower()
    )))
    assert [p.id for p in found.body.profiles] == [golden_id]  # type: ignore[attr-defined]


def test_disclosures_endpoint(exchange: Exchange) -> None:
    admin = exchange.headers("admin")
    golden_id = stored(exchange, "d1")
    empty = exchange.api.client.get(f"/api/v1/profiles/{golden_id}/disclosures", headers=admin)
    assert empty.status_code == 200 and empty.json["count"] == 0
    missing = exchange.api.client.get("/api/v1/profiles/gp_nope/disclosures", headers=admin)
    assert missing.status_code == 404


# --- errors ---------------------------------------------------------------------------------------


def test_not_xml_is_400_json(exchange: Exchange) -> None:
    response = post(exchange, b"<Envelope")
    assert response.status_code == 400 and response.json["error"]["code"] == "xml_syntax"


def test_doctype_is_refused(exchange: Exchange) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    response = post(exchange, body)
    assert response.status_code == 400 and response.json["error"]["code"] == "xml_forbidden"


def test_schema_violation_is_422_with_paths(exchange: Exchange) -> None:
    body = upsert(person("s1")).replace(b"s1@example.org", b"not-an-email")
    response = post(exchange, body)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "schema_invalid"
    assert error["errors"][0]["path"].endswith("/Emails/Email")
    assert ProfileStore(exchange.api.gateway.engine).count() == 0


def test_ack_as_request_is_400(exchange: Exchange) -> None:
    root = parse_bytes(query(profile_id="x")).getroot()
    ack = etree.tostring(root).replace(b"<ex:Operation>query", b"<ex:Operation>ack")
    response = post(exchange, ack)
    assert response.status_code == 400 and response.json["error"]["code"] == "model_error"


def test_declared_length_over_the_limit_is_413(exchange: Exchange) -> None:
    limit = exchange.api.gateway.settings.server.max_body_bytes
    response = post(exchange, b" " * (limit + 1))
    assert response.status_code == 413


def test_rate_limit_is_429(exchange: Exchange, api: Api) -> None:
    """A full window answers 429 over HTTP. The clock is held still (a loop of real requests
    can span a window boundary on a loaded machine, and the sliding window lets it through);
    the counting itself is tested in tests/exchange/test_ratelimit.py."""
    from sqlalchemy import insert

    from gateway.exchange.ratelimit import RateLimiter
    from gateway.store.tables import rate_window
    from gateway.web.exchange import EXTENSION, exchange_parts

    parts = exchange_parts(api.app)
    acme = parts.partners.require("acme")
    assert acme.rate_limit is not None
    now = 1_800_000_030.0
    api.app.extensions[EXTENSION] = dataclasses.replace(
        parts, limiter=RateLimiter(api.gateway.engine, clock=lambda: now))
    with api.gateway.engine.begin() as conn:  # the window already holds the limit's requests
        conn.execute(insert(rate_window).values(
            scope="acme", window_no=int(now // acme.rate_limit.per_seconds),
            hits=acme.rate_limit.requests))
    response = post(exchange, query(profile_id="x"))
    assert response.status_code == 429 and response.json["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= acme.rate_limit.per_seconds


def test_chunked_body_over_the_limit_is_413_and_nothing_stored(
    exchange: Exchange, live_url: str
) -> None:
    gateway = exchange.api.gateway
    server = gateway.settings.server.model_copy(update={"max_body_bytes": 4096})
    gateway.settings = gateway.settings.model_copy(update={"server": server})
    body = upsert(*(person(f"c{i}") for i in range(40)))
    assert len(body) > 4096
    status = send_chunked(live_url, URL, body, exchange.headers("partner"))
    assert status == 413
    assert ProfileStore(gateway.engine).count() == 0


def send_chunked(base: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` with Transfer-Encoding: chunked (no Content-Length) over a real socket."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest("POST", path)
        for name, value in {**headers, "Content-Type": "text/xml",
                            "Transfer-Encoding": "chunked"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for start in range(0, len(body), 1024):
                chunk = body[start:start + 1024]
                connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        return connection.getresponse().status
    finally:
        connection.close()
