"""The SOAP endpoint with zeep as a real client over HTTP on 127.0.0.1: every operation, faults.

Queries by e-mail, family name and every other criterion with zeep: tests/exchange/
test_soap_query.py (the Query type is a flat sequence now; see docs/partner-exchange.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from gateway.exchange.soap11 import CPEX_SOAP_NS, SOAP_ENV_NS
from gateway.pipeline.runner import Batch, Pipeline
from gateway.store.profiles import ProfileStore
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    GLOBEX_PASSWORD,
    Exchange,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    registry_fixture,
)
from tests.web.test_exchange import send_chunked

REPO = Path(__file__).resolve().parents[2]
SETTINGS = Settings(forbid_dtd=True, strict=True)
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def client(base: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Client:
    session = requests.Session()
    session.headers.update(headers or {})
    transport = Transport(session=session, timeout=10, operation_timeout=10)
    return Client(f"{base}/soap/v1/exchange?wsdl", settings=SETTINGS, transport=transport,
                  **kwargs)


@pytest.fixture
def acme(exchange: Exchange, live_url: str) -> Iterator[Client]:
    yield client(live_url, exchange.headers("partner"))


def header(operation: str, sender: str = "partner:acme") -> dict[str, Any]:
    return {"MessageId": f"soap-{operation}", "Sender": sender, "Recipient": "gateway",
            "Timestamp": NOW, "Operation": operation}


def profile(key: str, given: str, family: str, *, consent: bool = True,
            email: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "Identifiers": {"Identifier": [{"system": "partner:acme", "key": key}]},
        "Person": {"GivenName": given, "FamilyName": family},
        "Emails": {"Email": [{"_value_1": email or f"{key}@example.org"}]},
    }
    if consent:
        value["Consents"] = {"Consent": [{"Purpose": "contact", "Recipient": "same",
                                          "Status": "granted", "Given": NOW}]}
    return value


def submit(c: Client, *profiles: dict[str, Any]) -> Any:
    body = {"Batch": {"Profile": list(profiles)}}
    return c.service.SubmitProfiles(Envelope={"Header": header("upsert"), "Body": body})


def get(c: Client, profile_id: str, sender: str = "partner:acme") -> Any:
    envelope = {"Header": header("query", sender), "Body": {"Query": {"ProfileId": profile_id}}}
    return c.service.GetProfile(Envelope=envelope)


def fault_of(call: Any) -> Fault:
    with pytest.raises(Fault) as caught:
        call()
    return caught.value


def code(fault: Fault) -> str:
    return str(fault.code).rpartition(":")[2].rpartition("}")[2]


# --- every operation ------------------------------------------------------------------------------


def test_every_operation(acme: Client, exchange: Exchange) -> None:
    ack = submit(acme, profile("s1", "Grace", "Hopper"), profile("s2", "Alan", "Turing",
                                                                  consent=False))
    results = ack.Body.Acknowledgement.Result
    assert [r.status for r in results] == ["created", "created"]
    assert ack.Header.CorrelationId == "soap-upsert" and ack.Header.Operation == "ack"
    grace, alan = results[0].ProfileId, results[1].ProfileId

    found = get(acme, grace).Body.QueryResult.Profile
    assert [p.id for p in found] == [grace]
    assert found[0].Person.FamilyName == "Hopper"

    by_key = acme.service.QueryProfiles(Envelope={
        "Header": header("query"),
        "Body": {"Query": {"ProfileId": grace,
                           "Identifier": {"system": "partner:acme", "key": "s1"}}},
    })
    assert [p.id for p in by_key.Body.QueryResult.Profile] == [grace]

    own = get(acme, alan).Body.QueryResult.Profile  # no consent: its own data only
    assert [(p.id, p.Person.FamilyName) for p in own] == [(alan, "Turing")]

    erased = acme.service.EraseProfile(Envelope={
        "Header": header("erase"),
        "Body": {"Erase": {"ProfileRef": [{"ProfileId": grace}, {"ProfileId": "gp_missing"}]}},
    })
    assert [r.status for r in erased.Body.Acknowledgement.Result] == ["erased", "not-found"]
    assert code(fault_of(lambda: get(acme, grace))) == "Client.UnknownProfile"


def test_disclosures_over_soap_are_audited_by_operation(acme: Client, exchange: Exchange) -> None:
    """A person of the ERP who consented (the ERP's consents are trusted)."""
    erp = {"identifiers": [{"system": "erp", "key": "E-h1"}],
           "person": {"given_name": "Hedy", "family_name": "Lamarr"},
           "consents": [{"purpose": "contact", "recipient": "same", "status": "granted",
                         "given": NOW.isoformat()}]}
    report = Pipeline(exchange.api.gateway, Batch("erp", "erp")).run_documents([erp])
    hedy = report.acknowledgement()["results"][0]["id"]
    assert [p.id for p in get(acme, hedy).Body.QueryResult.Profile] == [hedy]
    by_name = acme.service.QueryProfiles(Envelope={
        "Header": header("query"), "Body": {"Query": {"FamilyName": "Lamarr"}},
    })
    assert [p.Person.GivenName for p in by_name.Body.QueryResult.Profile] == ["Hedy"]
    disclosures = exchange.api.client.get(
        f"/api/v1/profiles/{hedy}/disclosures", headers=exchange.headers("admin")
    ).json["disclosures"]
    assert [d["channel"] for d in disclosures] == ["soap.GetProfile", "soap.QueryProfiles"]


def test_wsdl_is_served_with_its_address_and_matches_the_file(live_url: str) -> None:
    served = requests.get(f"{live_url}/soap/v1/exchange?wsdl", timeout=10)
    assert served.status_code == 200
    tree = etree.fromstring(served.content)
    address = tree.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == f"{live_url}/soap/v1/exchange"
    local = Client(str(REPO / "schemas" / "cpex" / "cpex-exchange-1.0.wsdl"), settings=SETTINGS)
    operations = set(local.service._operations)
    assert operations == {"SubmitProfiles", "GetProfile", "QueryProfiles", "EraseProfile"}


# --- faults ---------------------------------------------------------------------------------------


def raw_post(base: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{base}/soap/v1/exchange", data=body, timeout=10,
                         headers={**headers, "Content-Type": "text/xml; charset=utf-8"})


def fault_fields(response: requests.Response) -> tuple[int, str, str, etree._Element]:
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault")
    assert fault is not None
    detail = fault.find(f"detail/{{{CPEX_SOAP_NS}}}Error")
    assert detail is not None
    return (response.status_code, fault.findtext("faultcode") or "",
            fault.findtext("faultstring") or "", detail)


def test_invalid_xml_fault(exchange: Exchange, live_url: str) -> None:
    status, fault, _message, detail = fault_fields(
        raw_post(live_url, b"<soap:Envelope", exchange.headers("partner"))
    )
    assert (status, fault, detail.get("code")) == (500, "soap:Client.InvalidXML", "xml_syntax")


def test_doctype_fault(exchange: Exchange, live_url: str) -> None:
    body = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    _status, fault, message, _ = fault_fields(
        raw_post(live_url, body, exchange.headers("partner"))
    )
    assert fault == "soap:Client.InvalidXML" and "DOCTYPE" in message and "root:" not in message


def test_schema_violation_fault_has_the_path(acme: Client, exchange: Exchange) -> None:
    fault = fault_of(lambda: submit(acme, profile("v1", "Bad", "Mail", email="not-an-email")))
    assert code(fault) == "Client.SchemaViolation"
    assert "/Envelope/Body/Batch/Profile/Emails/Email" in fault.message
    issue = fault.detail.find(f"{{{CPEX_SOAP_NS}}}Error/{{{CPEX_SOAP_NS}}}Issue")
    assert issue is not None and issue.get("path", "").endswith("/Emails/Email")
    assert ProfileStore(exchange.api.gateway.engine).count() == 0


def test_operation_must_fit_the_wrapper(acme: Client) -> None:
    envelope = {"Header": header("query"), "Body": {"Query": {"ProfileId": "x"}}}
    fault = fault_of(lambda: acme.service.EraseProfile(Envelope=envelope))
    assert code(fault) == "Client.InvalidRequest"


def test_too_large_chunked_body_is_a_fault_and_nothing_is_stored(
    exchange: Exchange, live_url: str
) -> None:
    gateway = exchange.api.gateway
    server = gateway.settings.server.model_copy(update={"max_body_bytes": 2048})
    gateway.settings = gateway.settings.model_copy(update={"server": server})
    body = (b'<soap:Envelope xmlns:soap="' + SOAP_ENV_NS.encode() + b'"><soap:Body>'
            + b"<!-- padding -->" * 4000 + b"</soap:Body></soap:Envelope>")
    assert send_chunked(live_url, "/soap/v1/exchange", body, exchange.headers("partner")) == 500
    response = raw_post(live_url, body, exchange.headers("partner"))
    status, fault, _, detail = fault_fields(response)
    assert (status, fault, detail.get("code")) == (500, "soap:Client.TooLarge", "body_too_large")
    assert ProfileStore(gateway.engine).count() == 0


# --- credentials ----------------------------------------------------------------------------------

#: who -> how the same GetProfile call ends: (no credentials, wrong partner, right partner, admin)
MATRIX = {"none": "Client.NotAuthorised", "wrong": "Client.NotAuthorised", "partner": "ok",
          "admin": "Client.NotAuthorised"}


def test_matrix(acme: Client, exchange: Exchange, live_url: str) -> None:
    grace = submit(acme, profile("m1", "Emmy", "Noether")).Body.Acknowledgement.Result[0].ProfileId
    got = {}
    for who in MATRIX:
        c = client(live_url, exchange.headers(who))
        try:
            get(c, grace)
            got[who] = "ok"
        except Fault as fault:
            got[who] = code(fault)
    assert got == MATRIX


def test_not_authorised_is_http_500(exchange: Exchange, live_url: str) -> None:
    envelope = (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body/></s:Envelope>').encode()
    status, fault, _message, _ = fault_fields(raw_post(live_url, envelope, {}))
    # the framing is read first (credentials may be inside), so an empty Body is the answer here
    assert status == 500 and fault == "soap:Client.InvalidRequest"


def test_username_token_and_basic(exchange: Exchange, live_url: str, acme: Client) -> None:
    grace = submit(acme, profile("t1", "Marie", "Curie")).Body.Acknowledgement.Result[0].ProfileId
    token = client(live_url, wsse=UsernameToken("globex-soap", GLOBEX_PASSWORD))
    # globex may query, but sees only what its consent rule allows: no tailoring consent here
    assert code(fault_of(lambda: get(token, grace, "partner:globex"))) == "Client.UnknownProfile"
    assert code(fault_of(lambda: get(token, grace))) == "Client.NotAuthorised"  # acme's Sender
    wrong = client(live_url, wsse=UsernameToken("globex-soap", "nope"))
    assert code(fault_of(lambda: get(wrong, grace, "partner:globex"))) == "Client.NotAuthorised"
    basic = requests.auth._basic_auth_str("globex", GLOBEX_PASSWORD)  # type: ignore[attr-defined]
    with_basic = client(live_url, {"Authorization": basic})
    assert code(fault_of(lambda: get(with_basic, grace, "partner:globex"))) == (
        "Client.UnknownProfile"
    )
    refused = with_basic.service.QueryProfiles(Envelope={
        "Header": header("query", "partner:globex"),
        "Body": {"Query": {"ProfileId": grace}},
    })
    body = serialize_object(refused.Body) or {}
    assert not (body.get("QueryResult") or {}).get("Profile")  # withheld: an empty result
