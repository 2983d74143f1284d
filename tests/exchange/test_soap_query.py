"""Queries by any criterion with zeep, over real HTTP on 127.0.0.1, and the Query type's contract.

zeep used to fail on every query without a ProfileId ("Missing element ProfileId"): the exchange
XSD spelt "at least one criterion" as a choice of six sequences repeating the same names, and
zeep fills the first branch holding any given name. The QueryType is now a flat sequence of
optional criteria and the gateway checks "at least one" itself (gateway/exchange/rules.py).
These tests hold both halves: zeep builds every combination, the flat type accepts exactly the
queries the choice accepted, and a query without criteria is still refused as before.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from zeep import Client
from zeep.helpers import serialize_object

from gateway.errors import SchemaValidationError
from gateway.exchange import ExchangeService
from gateway.exchange.rules import QUERY_CRITERIA, envelope_rule_issues
from gateway.model.envelope import ENVELOPE_TAG
from gateway.xml import parse_file
from gateway.xml.schemas import SchemaRegistry
from tests.web.conftest import api  # noqa: F401  (fixture)
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    Exchange,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    registry_fixture,
)
from tests.web.test_soap import SETTINGS, client, code, fault_of, header, profile, submit

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
WSDL = SCHEMAS / "cpex" / "cpex-exchange-1.0.wsdl"
EXCHANGE_NS = "urn:cpex:exchange:1.0"
CSOAP_NS = "urn:cpex:soap:1.0"

#: One value per criterion, each valid for its type.
VALUES: dict[str, Any] = {
    "ProfileId": "gp_1",
    "Identifier": {"system": "partner:acme", "key": "k-1"},
    "Email": "grace@example.org",
    "Phone": "+4930123456",
    "FamilyName": "Hopper",
    "PostalCode": "75009",
}
COMBINATIONS = [
    combo for n in range(1, len(QUERY_CRITERIA) + 1)
    for combo in itertools.combinations(QUERY_CRITERIA, n)
]


def query_ids(c: Client, **criteria: Any) -> list[str]:
    answer = c.service.QueryProfiles(
        Envelope={"Header": header("query"), "Body": {"Query": criteria}}
    )
    # zeep leaves an empty QueryResult out of the Body altogether (it binds no empty choice)
    result = (serialize_object(answer.Body) or {}).get("QueryResult") or {}
    return [p["id"] for p in result.get("Profile") or []]


# --- over HTTP ------------------------------------------------------------------------------


def test_zeep_queries_by_email_and_by_family_name(exchange: Exchange, live_url: str) -> None:
    acme = client(live_url, exchange.headers("partner"))
    ack = submit(
        acme,
        profile("q1", "Grace", "Hopper", email="grace.hopper@example.org"),
        profile("q2", "Ada", "Lovelace", email="ada@example.org"),
    )
    grace, ada = (r.ProfileId for r in ack.Body.Acknowledgement.Result)

    assert query_ids(acme, Email="grace.hopper@example.org") == [grace]
    assert query_ids(acme, Email="ADA@example.org") == [ada]  # e-mail compares without case
    assert query_ids(acme, FamilyName="Lovelace") == [ada]
    assert query_ids(acme, FamilyName="Hopper", MaxResults=5) == [grace]
    assert query_ids(acme, Email="ada@example.org", FamilyName="Hopper") == []  # AND
    assert query_ids(acme, FamilyName="Nobody") == []

    # what partners did before keeps working: ProfileId alone or with more criteria
    assert query_ids(acme, ProfileId=grace) == [grace]
    assert query_ids(
        acme, ProfileId=grace, Identifier={"system": "partner:acme", "key": "q1"}
    ) == [grace]
    got = acme.service.GetProfile(
        Envelope={"Header": header("query"), "Body": {"Query": {"ProfileId": ada}}}
    )
    assert [p.id for p in got.Body.QueryResult.Profile] == [ada]


def test_query_without_criteria_is_a_schema_violation_over_soap(
    exchange: Exchange, live_url: str
) -> None:
    acme = client(live_url, exchange.headers("partner"))
    submit(acme, profile("q3", "Alan", "Turing"))
    fault = fault_of(lambda: query_ids(acme, MaxResults=10))
    assert code(fault) == "Client.SchemaViolation"
    assert "/Envelope/Body/Query" in fault.message and "at least one criterion" in fault.message
    issue = fault.detail.find(f"{{{CSOAP_NS}}}Error/{{{CSOAP_NS}}}Issue")
    assert issue is not None and issue.get("path") == "/Envelope/Body/Query"


def test_query_without_criteria_over_rest_is_422_as_before(exchange: Exchange) -> None:
    body = (SCHEMAS / "examples" / "rejected-query-without-criteria.xml").read_bytes()
    response = exchange.api.client.post(
        "/cpex/v1/exchange", data=body,
        headers={**exchange.headers("partner"), "Content-Type": "application/xml"},
    )
    assert response.status_code == 422, response.data
    error = response.json["error"]
    assert error["code"] == "schema_invalid"
    assert [e["path"] for e in error["errors"]] == ["/Envelope/Body/Query"]
    assert error["errors"][0]["line"] == 11


# --- the Query type, without HTTP ----------------------------------------------------------


def zeep_query(c: Client, criteria: dict[str, Any]) -> etree._Element:
    """The ex:Envelope zeep builds for a QueryProfiles call (nothing is sent)."""
    body = {"Query": criteria}
    message = c.create_message(
        c.service, "QueryProfiles", Envelope={"Header": header("query"), "Body": body}
    )
    envelope = message.find(f".//{ENVELOPE_TAG}")
    assert envelope is not None
    return envelope


@pytest.fixture(scope="module")
def local_client() -> Client:
    return Client(str(WSDL), settings=SETTINGS)


@pytest.fixture(scope="module")
def first_published(tmp_path_factory: pytest.TempPathFactory) -> SchemaRegistry:
    """The exchange XSD as first published (the choice), beside the current profile XSD."""
    folder = tmp_path_factory.mktemp("choice")
    shutil.copy(SCHEMAS / "cpex" / "cpex-profile-1.0.xsd", folder)
    shutil.copy(Path(__file__).parent / "data" / "cpex-exchange-1.0-choice.xsd", folder)
    return SchemaRegistry(folder)


@pytest.mark.parametrize("combo", COMBINATIONS, ids="+".join)
def test_zeep_builds_every_combination_and_both_schemas_accept_it(
    local_client: Client, first_published: SchemaRegistry, combo: tuple[str, ...]
) -> None:
    envelope = zeep_query(local_client, {name: VALUES[name] for name in combo})
    query = envelope.find(f"{{{EXCHANGE_NS}}}Body/{{{EXCHANGE_NS}}}Query")
    assert query is not None
    assert [etree.QName(e).localname for e in query] == list(combo)
    # element for element what the first published schema accepted: the wire format is the same
    document = etree.fromstring(etree.tostring(envelope))
    SchemaRegistry(SCHEMAS).validate(document)
    first_published.validate(document)
    assert envelope_rule_issues(document) == []


def test_without_criteria_both_schemas_refuse(
    local_client: Client, first_published: SchemaRegistry
) -> None:
    document = etree.fromstring(etree.tostring(zeep_query(local_client, {"MaxResults": 3})))
    with pytest.raises(SchemaValidationError):
        first_published.validate(document)
    SchemaRegistry(SCHEMAS).validate(document)  # the flat type alone lets it through ...
    (issue,) = envelope_rule_issues(document)  # ... the rule does not
    assert issue.path == "/Envelope/Body/Query"


def test_the_service_refuses_the_sample_without_criteria(exchange: Exchange) -> None:
    root = parse_file(SCHEMAS / "examples" / "rejected-query-without-criteria.xml").getroot()
    service = ExchangeService(exchange.api.gateway)
    with pytest.raises(SchemaValidationError) as caught:
        service.validate_envelope(root, source="sample")
    (issue,) = caught.value.issues
    assert (issue.path, issue.line) == ("/Envelope/Body/Query", 11)
    assert "at least one criterion" in issue.message
