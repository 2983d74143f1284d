"""SOAP password logins are throttled, counted in the database: after 10 failed logins for one
login name (or 30 from one address) in a minute, the next login is refused with a
``Client.RateLimited`` Fault and ``Retry-After`` before its password is checked, even a right one.
"""

from __future__ import annotations

import base64

from sqlalchemy import select

from gateway.store.tables import rate_window
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    GLOBEX_PASSWORD,
    Exchange,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    query,
    registry_fixture,
)
from tests.web.test_soap import fault_fields, raw_post

WRAPPED = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<c:QueryProfiles xmlns:c="urn:cpex:soap:1.0">{envelope}</c:QueryProfiles></soap:Body>'
    "</soap:Envelope>"
)


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def call(live_url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    inner = query(sender="partner:globex", profile_id="gp_x").decode().partition("?>")[2]
    response = raw_post(live_url, WRAPPED.format(envelope=inner).encode(), headers)
    if response.status_code == 200:
        return "ok", dict(response.headers)
    _, fault, _, _ = fault_fields(response)
    return fault.removeprefix("soap:"), dict(response.headers)


def test_failed_logins_for_one_name_are_throttled(exchange: Exchange, live_url: str) -> None:
    assert call(live_url, basic("globex", GLOBEX_PASSWORD))[0] == "ok"
    for _ in range(10):
        assert call(live_url, basic("globex", "wrong"))[0] == "Client.NotAuthorised"
    code, headers = call(live_url, basic("globex", GLOBEX_PASSWORD))
    assert code == "Client.RateLimited"
    assert 1 <= int(headers["Retry-After"]) <= 60
    with exchange.api.gateway.engine.connect() as conn:
        scopes = set(conn.execute(select(rate_window.c.scope)).scalars())
    assert {s.partition(":")[0] for s in scopes} >= {"login-name", "login-addr"}


def test_failed_logins_from_one_address_are_throttled(exchange: Exchange, live_url: str) -> None:
    for n in range(30):  # a different name each time: only the address ties them together
        assert call(live_url, basic(f"guess{n}", "wrong"))[0] == "Client.NotAuthorised"
    code, headers = call(live_url, basic("globex", GLOBEX_PASSWORD))
    assert code == "Client.RateLimited" and int(headers["Retry-After"]) >= 1
