"""Fixtures for the exchange tests: test partners, their keys, envelopes, and a real HTTP server.

Partners come from TOML files written here (not config/partners), so the tests fix exactly what
each may do: ``acme`` may do everything and sees identity and contact data for current/contact;
``globex`` may only query, signs in with keys, HTTP Basic or a UsernameToken, and is the "wrong
partner" for everything acme owns.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from gateway.model import (
    Consent,
    ConsentStatus,
    Email,
    Identifier,
    Person,
    PostalAddress,
    Profile,
    Purpose,
    Recipient,
)
from gateway.model.envelope import (
    Batch,
    Envelope,
    Erase,
    Header,
    Operation,
    ProfileRef,
    Query,
    envelope_to_bytes,
)
from gateway.partners.passwords import hash_password
from gateway.partners.registry import PartnerRegistry, load_partners
from gateway.security.credentials import CredentialStore, Role
from gateway.web.exchange import use_partners
from tests.web.conftest import Api

_MESSAGE_NUMBERS = itertools.count(1)
GLOBEX_PASSWORD = "globex-test-password"

ACME = """
version = 1
id = "acme"
name = "ACME Shop"
operations = ["upsert", "query", "erase"]
[inbound]
schema = "urn:cpex:profile:1.0"
[privacy]
recipient = "same"
purposes = ["current", "contact"]
categories = ["identity", "contact"]
[rate_limit]
requests = 1000
"""

GLOBEX = """
version = 1
id = "globex"
name = "Globex"
operations = ["query"]
[auth]
api_key = true
basic = {{ username = "globex", password_hash = "{hash}" }}
ws_security = {{ username = "globex-soap", password_hash = "{hash}" }}
[privacy]
recipient = "other-recipient"
purposes = ["tailoring"]
categories = ["identity"]
"""


@dataclass
class Exchange:
    api: Api
    wrong_key: str  # globex: a valid partner key, not entitled to acme's operations

    def headers(self, who: str) -> dict[str, str]:
        if who == "wrong":
            return {"Authorization": f"Bearer {self.wrong_key}"}
        return self.api.headers(who)


@pytest.fixture(name="partner_files", scope="session")
def partner_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("partners")
    (folder / "acme.toml").write_text(ACME)
    (folder / "globex.toml").write_text(GLOBEX.format(hash=hash_password(GLOBEX_PASSWORD)))
    return folder


@pytest.fixture(name="registry")
def registry_fixture(partner_files: Path) -> PartnerRegistry:
    return load_partners(partner_files)


@pytest.fixture(name="exchange")
def exchange_fixture(api: Api, registry: PartnerRegistry) -> Exchange:
    use_partners(api.app, registry)
    wrong = CredentialStore(api.gateway.engine).issue("globex", Role.PARTNER, partner_id="globex")
    return Exchange(api, wrong.token)


@pytest.fixture(name="live_url")
def live_url_fixture(exchange: Exchange) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1 (a thread), for zeep and raw sockets."""
    server = make_server("127.0.0.1", 0, exchange.api.app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    gateway = exchange.api.gateway  # the WSDL's address is configured: this server's
    public = gateway.settings.server.model_copy(update={"public_url": url})
    gateway.settings = gateway.settings.model_copy(update={"server": public})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


# --- documents -------------------------------------------------------------------------------

GIVEN = datetime(2024, 1, 1, tzinfo=UTC)


def consent(
    purpose: Purpose = Purpose.CONTACT,
    status: ConsentStatus = ConsentStatus.GRANTED,
    recipient: Recipient = Recipient.SAME,
) -> Consent:
    return Consent(purpose, recipient, status, given=GIVEN)


_NAMES = ("Lovelace", "Hopper", "Turing", "Noether", "Curie", "Babbage", "Shannon", "Liskov",
          "Hamilton", "Dijkstra", "Knuth", "Ritchie")
_GIVEN = ("Ada", "Grace", "Alan", "Emmy", "Marie", "Charles", "Claude", "Barbara", "Margaret",
          "Edsger", "Donald", "Dennis")


def person(key: str, *consents: Consent, family: str | None = None) -> Profile:
    """A person known to acme by ``key``; different keys look like different people (so identity
    resolution does not merge them): name, address and email all come from the key. acme
    asserts its own key only (a key of another system would be refused: test_partner_trust)."""
    n = sum(map(ord, key))
    return Profile(
        identifiers=(Identifier("partner:acme", key),),
        person=Person(given_name=_GIVEN[n % 12], family_name=family or _NAMES[(n // 12) % 12]),
        addresses=(
            PostalAddress(lines=(f"{n} {key} Road",), city=f"Town{key}", postal_code=f"Z{n} {key}"),
        ),
        emails=(Email(f"{key}@example.org"),),
        consents=consents,
    )


def envelope(body: Batch | Query | Erase, *, sender: str = "partner:acme",
             message_id: str | None = None) -> bytes:
    """A request envelope; each gets a message id of its own (as a partner's would), unless one
    is given (to send the same message again)."""
    operation = {Batch: Operation.UPSERT, Query: Operation.QUERY, Erase: Operation.ERASE}[
        type(body)
    ]
    header = Header(
        message_id=message_id or f"msg-{operation}-{next(_MESSAGE_NUMBERS)}",
        sender=sender,
        recipient="gateway",
        timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        operation=operation,
    )
    return envelope_to_bytes(Envelope(header, body))


def upsert(*profiles: Profile, sender: str = "partner:acme",
           message_id: str | None = None) -> bytes:
    return envelope(Batch(profiles), sender=sender, message_id=message_id)


def query(sender: str = "partner:acme", **criteria: object) -> bytes:
    return envelope(Query(**criteria), sender=sender)  # type: ignore[arg-type]


def erase(*refs: ProfileRef, sender: str = "partner:acme") -> bytes:
    return envelope(Erase(refs), sender=sender)
