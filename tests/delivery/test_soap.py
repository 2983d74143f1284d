"""SOAP delivery with zeep: the partner is another CPEX gateway (its own ``SubmitProfiles`` and
``EraseProfile``, served by werkzeug on 127.0.0.1, with its own database). The WSDL is local."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from gateway.config import load_settings
from gateway.delivery.rights import erase_person
from gateway.partners.passwords import hash_password
from gateway.partners.registry import load_partners
from gateway.privacy import disclosures_of
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.store.engine import make_engine
from gateway.store.migrate import upgrade
from gateway.store.profiles import ProfileStore
from gateway.web import create_app
from gateway.web.exchange import use_partners
from tests.delivery.conftest import Hub, fast_settings, person

PEER = """
version = 1
id = "peer"
name = "Another gateway"
[outbound]
schema = "urn:cpex:profile:1.0"
endpoint = { kind = "soap", wsdl = "cpex/cpex-exchange-1.0.wsdl", operation = "SubmitProfiles" }
[privacy]
recipient = "same"
purposes = ["contact"]
categories = ["identity"]
"""

HUB_AT_PEER = """
version = 1
id = "hub"
name = "The hub that sends us profiles"
operations = ["upsert", "erase"]
[inbound]
schema = "urn:cpex:profile:1.0"
[privacy]
recipient = "same"
purposes = ["contact"]
"""


@contextmanager
def peer_gateway(tmp_path: Path, hub_file: str) -> Iterator[tuple[str, Gateway, str]]:
    """Another gateway on its own SQLite file, over real HTTP, knowing us as partner ``hub``;
    yields its SOAP address, itself, and an API key it issued us."""
    folder = tmp_path / "peer-partners"
    folder.mkdir()
    (folder / "hub.toml").write_text(hub_file)
    url = f"sqlite:///{tmp_path / 'peer.db'}"
    engine = make_engine(url)
    upgrade(engine)
    gateway = Gateway(load_settings(environ={}, overrides={"database.url": url}), _engine=engine)
    app = create_app(gateway=gateway)
    use_partners(app, load_partners(folder))
    token = CredentialStore(engine).issue("hub", Role.PARTNER, partner_id="hub").token
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/soap/v1/exchange", gateway, token
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        engine.dispose()


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Gateway]]:
    """The other gateway; its API key for us in the environment."""
    with peer_gateway(tmp_path, HUB_AT_PEER) as (address, gateway, token):
        monkeypatch.setenv("TEST_PEER_TOKEN", token)
        yield address, gateway


def test_profile_and_erase_over_soap(hub: Hub, receiver: tuple[str, Gateway]) -> None:
    address, peer = receiver
    (hub.folder / "peer.toml").write_text(PEER)
    (hub.folder / "shop.toml").unlink()
    hub.settings = fast_settings(
        timeout_seconds=5, sender="partner:hub",
        partners={"peer": {"address": address,
                           "auth": {"kind": "bearer", "token_env": "TEST_PEER_TOKEN"}}},
    )
    golden = hub.save(person("1", given="Grace"))
    dispatcher = hub.dispatcher()
    hub.drain(dispatcher)

    [row] = hub.deliveries()
    assert (row["partner"], row["kind"], row["status"]) == ("peer", "profile", "delivered")
    there = ProfileStore(peer.engine).find_by_identifier("partner:hub", golden)
    assert there is not None and there.person is not None
    assert there.person.given_name == "Grace"
    assert there.emails == ()  # contact data is beyond the peer's policy: never sent
    assert [d.message_id for d in disclosures_of(hub.engine, golden)] == [row["message_id"]]

    erase_person(hub.engine, golden, actor="admin")
    hub.drain(dispatcher)
    kinds = [(r["kind"], r["status"]) for r in hub.deliveries()]
    assert kinds == [("profile", "delivered"), ("erase", "delivered")]
    assert ProfileStore(peer.engine).find_by_identifier("partner:hub", golden) is None


def test_soap_refusal_is_a_dead_letter_with_the_fault_code(
    hub: Hub, receiver: tuple[str, Gateway]
) -> None:
    address, _ = receiver
    (hub.folder / "peer.toml").write_text(PEER)
    (hub.folder / "shop.toml").unlink()
    hub.settings = fast_settings(  # we present ourselves as a system the peer does not know
        timeout_seconds=5, sender="partner:stranger",
        partners={"peer": {"address": address,
                           "auth": {"kind": "bearer", "token_env": "TEST_PEER_TOKEN"}}},
    )
    hub.save(person("1"))
    hub.drain(hub.dispatcher())
    [row] = hub.deliveries()
    assert row["status"] == "dead" and row["attempts"] == 1
    assert "SOAP Fault" in str(row["last_error"]) and "NotAuthorised" in str(row["last_error"])


def test_ws_security_username_token(hub: Hub, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The peer takes only a WS-Security UsernameToken from us (no API key)."""
    login = (f'[auth]\napi_key = false\nws_security = {{ username = "hub-ws", '
             f'password_hash = "{hash_password("ws-secret")}" }}\n')
    with peer_gateway(tmp_path, HUB_AT_PEER + login) as (address, peer, _token):
        (hub.folder / "peer.toml").write_text(PEER)
        (hub.folder / "shop.toml").unlink()
        auth = {"kind": "ws_security", "username": "hub-ws", "password_env": "TEST_PEER_WS"}
        hub.settings = fast_settings(timeout_seconds=5, sender="partner:hub",
                                     partners={"peer": {"address": address, "auth": auth}})
        monkeypatch.setenv("TEST_PEER_WS", "wrong")
        golden = hub.save(person("1", given="Grace"))
        hub.drain(hub.dispatcher())
        [refused] = hub.deliveries()
        assert refused["status"] == "dead" and "NotAuthorised" in str(refused["last_error"])

        monkeypatch.setenv("TEST_PEER_WS", "ws-secret")
        hub.save(person("1", given="Grace Brewster"))
        hub.drain(hub.dispatcher())
        assert [r["status"] for r in hub.deliveries()] == ["dead", "delivered"]
        there = ProfileStore(peer.engine).find_by_identifier("partner:hub", golden)
        assert there is not None and there.person is not None
        assert there.person.given_name == "Grace Brewster"
