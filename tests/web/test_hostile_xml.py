"""Hostile XML at the partner entry points, over real HTTP: a DOCTYPE after a long comment, an
external parameter entity on ``/dev/zero``, 80,000 namespace declarations. Each is refused with
its cause, promptly (the HTTP client's timeout is the deadline), and nothing is stored."""

from __future__ import annotations

import base64

import requests

from gateway.store.profiles import ProfileStore
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    Exchange,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    person,
    registry_fixture,
    upsert,
)
from tests.web.test_soap import fault_fields, raw_post
from tests.xml.attack_corpus import LONG_COMMENT

DEV_ZERO = (
    LONG_COMMENT + '<!DOCTYPE x [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]><x/>'
).encode()


def namespace_flood(document: bytes, count: int = 80_000) -> bytes:
    """``document`` with ``count`` namespace declarations on its root element."""
    root = document.index(b"<", document.index(b"?>"))
    space = document.index(b" ", root)
    declarations = b" ".join(b'xmlns:p%d="urn:x:%d"' % (i, i) for i in range(count))
    return document[:space] + b" " + declarations + document[space:]


def test_soap_doctype_on_dev_zero_without_credentials_is_a_prompt_fault(
    exchange: Exchange, live_url: str
) -> None:
    status, fault, message, detail = fault_fields(raw_post(live_url, DEV_ZERO, {}))
    assert (status, fault, detail.get("code")) == (500, "soap:Client.InvalidXML", "xml_forbidden")
    assert "line 2: a DOCTYPE is not allowed" in message


def test_soap_header_credentials_are_checked_before_the_body_is_parsed(
    exchange: Exchange, live_url: str
) -> None:
    wrong = "Basic " + base64.b64encode(b"globex:not-the-password").decode()
    for headers in ({"Authorization": wrong}, {"Authorization": "Bearer cpex_nope"}):
        status, fault, message, _ = fault_fields(raw_post(live_url, DEV_ZERO, headers))
        assert (status, fault) == (500, "soap:Client.NotAuthorised"), message
        assert "DOCTYPE" not in message


def test_rest_exchange_namespace_flood_is_413(exchange: Exchange, live_url: str) -> None:
    body = namespace_flood(upsert(person("k1"), person("k2")))
    answer = requests.post(
        f"{live_url}/cpex/v1/exchange",
        data=body,
        timeout=60,
        headers={**exchange.headers("partner"), "Content-Type": "application/xml"},
    )
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["code"] == "xml_too_large"
    assert (
        "element Envelope has 80002 namespaces in scope, over the limit of 64" in (error["message"])
    )
    assert ProfileStore(exchange.api.gateway.engine).count() == 0


def test_soap_namespace_flood_is_a_too_large_fault(exchange: Exchange, live_url: str) -> None:
    envelope = (
        b'<?xml version="1.0"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
        b'envelope/"><soap:Body/></soap:Envelope>'
    )
    status, fault, message, _ = fault_fields(
        raw_post(live_url, namespace_flood(envelope), exchange.headers("partner"))
    )
    assert (status, fault) == (500, "soap:Client.TooLarge")
    assert "over the limit of 64" in message
