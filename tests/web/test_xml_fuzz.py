"""Bounded fuzzing of every XML entry point: random bytes and mutated valid documents (hypothesis)
at the REST exchange, SOAP, profile POST and PUT (XML), mapping preview, ``validate`` and
``import``. Whatever comes in: an answer within a deadline (no thread left busy), never a 5xx
(on SOAP: never a ``Server.*`` Fault), and a refusal stores nothing.

Bounded: a few dozen examples per entry point, derandomised (the same examples every run), on
SQLite. The attack corpus (tests/xml) covers each known attack by name; this covers the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from gateway.cli import main
from gateway.config import load_settings
from gateway.pipeline.tables import inbound_message, quarantine_record
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.store.engine import make_engine
from gateway.store.migrate import upgrade
from gateway.store.tables import golden_profile, source_record
from gateway.web import create_app
from gateway.web.exchange import use_partners
from tests.cli.conftest import REPO
from tests.web.exchange_fixtures import ACME, person, upsert
from tests.xml.attack_corpus import LONG_COMMENT

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DEADLINE = 60  # seconds one call may take before the test calls its thread stuck

# --- documents -----------------------------------------------------------------------------------

PROFILE = (
    b'<cpex:Profile xmlns:cpex="urn:cpex:profile:1.0"><cpex:Identifiers><cpex:Identifier '
    b'system="shop" key="1"/></cpex:Identifiers><cpex:Person><cpex:GivenName>Ann'
    b"</cpex:GivenName><cpex:FamilyName>Smith</cpex:FamilyName></cpex:Person></cpex:Profile>"
)
UPSERT = upsert(person("f1"), person("f2"))
SOAP = (
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<c:SubmitProfiles xmlns:c="urn:cpex:soap:1.0">'
    + UPSERT.partition(b"?>")[2]
    + b"</c:SubmitProfiles></soap:Body></soap:Envelope>"
)
FRAGMENTS = [
    b'<!DOCTYPE x [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]>',
    LONG_COMMENT.encode() + b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
    b"&e;",
    b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>',
    b" ".join(b'xmlns:n%d="urn:n%d"' % (i, i) for i in range(200)),
    b" ".join(b'a%d="v"' % i for i in range(300)),
    b"<b>" * 80,
    b"<!--",
    b"]]>",
    b"<![CDATA[",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b'<?xml version="1.0" encoding="UTF-7"?>',
    b"&#0;",
    b"\xed\xa0\x80",  # a lone surrogate, UTF-8 encoded
    b"</",
    b"<Extra/>",
]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few random edits: bytes flipped, cut, repeated, or hostile fragments in."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["fragment", "flip", "cut", "truncate", "repeat"]))
        if edit == "fragment":
            data[at:at] = draw(st.sampled_from(FRAGMENTS))
        elif edit == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif edit == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 20))
    return bytes(data)


def documents(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=3000), mutated(seed))


# --- the gateway under fuzz ----------------------------------------------------------------------


@dataclass
class Target:
    client: FlaskClient
    engine: Engine
    tmp: Path
    admin: dict[str, str]
    partner: dict[str, str]

    def rows(self) -> dict[str, int]:
        tables = {
            "golden": golden_profile,
            "records": source_record,
            "quarantine": quarantine_record,
            "messages": inbound_message,
        }
        with self.engine.connect() as conn:
            return {
                n: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for n, t in tables.items()
            }


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "acme.toml").write_text(ACME)
    gateway = Gateway(load_settings(environ={}, overrides={"database.url": url}), _engine=engine)
    keys = CredentialStore(engine)
    admin = keys.issue("ops", Role.ADMIN).token
    partner = keys.issue("acme", Role.PARTNER, partner_id="acme").token
    app = create_app(gateway=gateway)
    from gateway.partners.registry import load_partners

    use_partners(app, load_partners(partners))
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", url)
    yield Target(
        app.test_client(),
        engine,
        tmp_path,
        {"Authorization": f"Bearer {admin}"},
        {"Authorization": f"Bearer {partner}"},
    )
    engine.dispose()


#: One worker thread for every call (so per-thread parsers and schemas stay compiled).
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuzz")


def within_deadline(call: Callable[[], Any]) -> Any:
    """``call()``'s result, from a worker thread that must finish within the deadline."""
    try:
        return _WORKER.submit(call).result(timeout=DEADLINE)
    except FutureTimeout:
        pytest.fail("a call is still running past the deadline: its thread is stuck")


def check_http(target: Target, call: Callable[[], Any], *, soap: bool = False) -> None:
    before = target.rows()
    response = within_deadline(call)
    if soap and response.status_code == 500:
        assert b"<faultcode>soap:Server" not in response.data, response.data[:500]
        assert b"<faultcode>soap:" in response.data
    else:
        assert response.status_code < 500, (response.status_code, response.data[:500])
    if response.status_code >= 400:
        assert target.rows() == before, "a refused request stored something"


# --- one test per entry point --------------------------------------------------------------------

XML = {"Content-Type": "application/xml"}


@BOUNDED
@given(body=documents(UPSERT))
def test_rest_exchange(target: Target, body: bytes) -> None:
    check_http(
        target,
        lambda: target.client.post(
            "/cpex/v1/exchange", data=body, headers={**target.partner, **XML}
        ),
    )


@BOUNDED
@given(body=documents(SOAP))
def test_soap(target: Target, body: bytes) -> None:
    check_http(
        target,
        lambda: target.client.post(
            "/soap/v1/exchange",
            data=body,
            headers={**target.partner, "Content-Type": "text/xml; charset=utf-8"},
        ),
        soap=True,
    )


@BOUNDED
@given(body=documents(UPSERT))
def test_profile_post_xml(target: Target, body: bytes) -> None:
    check_http(
        target,
        lambda: target.client.post("/api/v1/profiles", data=body, headers={**target.admin, **XML}),
    )


@settings(BOUNDED, max_examples=15)
@given(body=documents(PROFILE))
def test_profile_put_xml(target: Target, body: bytes) -> None:
    created = target.client.post(
        "/api/v1/profiles", data=upsert(person("put")), headers={**target.admin, **XML}
    )
    golden = created.json["results"][0]["id"]
    etag = target.client.get(f"/api/v1/profiles/{golden}", headers=target.admin).headers["ETag"]
    check_http(
        target,
        lambda: target.client.put(
            f"/api/v1/profiles/{golden}",
            data=body,
            headers={**target.admin, **XML, "If-Match": etag},
        ),
    )


@BOUNDED
@given(body=documents(UPSERT))
def test_mapping_preview(target: Target, body: bytes) -> None:
    check_http(
        target,
        lambda: target.client.post(
            "/api/v1/mappings/cpex-in/preview", data=body, headers={**target.admin, **XML}
        ),
    )


@BOUNDED
@given(body=documents(UPSERT))
def test_validate_cli(target: Target, body: bytes) -> None:
    path = target.tmp / "fuzz-validate.xml"
    path.write_bytes(body)
    assert within_deadline(lambda: main(["validate", str(path)])) in (0, 1)


@settings(BOUNDED, max_examples=12)  # each run builds the whole command: the slowest here
@given(body=documents(UPSERT))
def test_import_cli(target: Target, body: bytes) -> None:
    path = target.tmp / "fuzz-import.xml"
    path.write_bytes(body)
    before = target.rows()
    code = within_deadline(lambda: main(["import", str(path), "--reprocess"]))
    assert code in (0, 1, 2)
    if code == 2:  # refused: nothing stored, no message left half-done
        assert target.rows() == before
