"""SOAP 1.1 framing as the specification asks: a SOAP 1.2 envelope gets ``VersionMismatch``, an
unknown header marked ``mustUnderstand`` gets ``MustUnderstand``, a ``SOAPAction`` that names
another operation than the Body is refused, and the WSDL's address is the configured one
whatever Host header the caller sends."""

from __future__ import annotations

import requests
from lxml import etree

from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    Exchange,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    query,
    registry_fixture,
)
from tests.web.test_soap import fault_fields, raw_post

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def get_profile(envelope_ns: str = SOAP11, header: str = "") -> bytes:
    inner = query(profile_id="gp_none").decode().partition("?>")[2]
    return (
        f'<soap:Envelope xmlns:soap="{envelope_ns}">{header}<soap:Body>'
        f'<c:GetProfile xmlns:c="urn:cpex:soap:1.0">{inner}</c:GetProfile></soap:Body>'
        "</soap:Envelope>"
    ).encode()


def fault_code(live_url: str, body: bytes, headers: dict[str, str]) -> str:
    return fault_fields(raw_post(live_url, body, headers))[1].removeprefix("soap:")


def test_a_soap_1_2_envelope_is_a_version_mismatch(exchange: Exchange, live_url: str) -> None:
    status, fault, message, detail = fault_fields(
        raw_post(live_url, get_profile(SOAP12), exchange.headers("partner"))
    )
    assert (status, fault, detail.get("code")) == (
        500,
        "soap:VersionMismatch",
        "soap_version_mismatch",
    )
    assert SOAP12 in message


def test_an_unknown_must_understand_header_is_refused(exchange: Exchange, live_url: str) -> None:
    header = (
        '<soap:Header><t:Transaction xmlns:t="urn:example:tx" soap:mustUnderstand="1">5'
        "</t:Transaction></soap:Header>"
    )
    headers = exchange.headers("partner")
    assert fault_code(live_url, get_profile(header=header), headers) == "MustUnderstand"
    optional = header.replace('soap:mustUnderstand="1"', 'soap:mustUnderstand="0"')
    # understood or not, an optional header is ignored: the call goes on (to an unknown id)
    assert fault_code(live_url, get_profile(header=optional), headers) == "Client.UnknownProfile"


def test_soap_action_must_name_the_operation_in_the_body(exchange: Exchange, live_url: str) -> None:
    headers = exchange.headers("partner")
    for action, expected in [
        ('"urn:cpex:soap:1.0#EraseProfile"', "Client.InvalidRequest"),
        ('"urn:cpex:soap:1.0#GetProfile"', "Client.UnknownProfile"),
        ('""', "Client.UnknownProfile"),  # empty: the request URI names the intent
    ]:
        got = fault_code(live_url, get_profile(), {**headers, "SOAPAction": action})
        assert got == expected, action


def test_wsdl_address_is_configured_not_taken_from_the_host_header(live_url: str) -> None:
    served = requests.get(
        f"{live_url}/soap/v1/exchange?wsdl", headers={"Host": "attacker.example"}, timeout=10
    )
    address = etree.fromstring(served.content).find(
        ".//{http://schemas.xmlsoap.org/wsdl/soap/}address"
    )
    assert address is not None and address.get("location") == f"{live_url}/soap/v1/exchange"
