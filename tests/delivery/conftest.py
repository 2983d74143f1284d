"""Fixtures for the delivery tests: a hub gateway on the test database, partner files, helpers.

Outbox rows are written the way the pipeline writes them: the profile is saved with
``ProfileStore.save_in_transaction`` and its changes go to ``gateway.pipeline.outbox.
write_changes`` in the same transaction (the ingest runner itself is built in parallel).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.config import load_settings
from gateway.delivery import DeliverySettings, Dispatcher
from gateway.model import (
    Consent,
    ConsentStatus,
    Email,
    Identifier,
    Person,
    Profile,
    Purpose,
    Recipient,
)
from gateway.partners.registry import PartnerRegistry, load_partners
from gateway.pipeline.outbox import write_changes
from gateway.pipeline.tables import outbox_event
from gateway.runtime import Gateway
from gateway.store.engine import write_transaction
from gateway.store.profiles import ProfileStore
from gateway.store.tables import delivery
from tests.delivery.partner_server import PartnerServer
from tests.web.conftest import api  # noqa: F401  (the admin API fixture, by name)

GIVEN = datetime(2024, 1, 1, tzinfo=UTC)

SHOP = """
version = 1
id = "shop"
name = "Shop"
[outbound]
schema = "urn:cpex:profile:1.0"
endpoint = {{ kind = "rest", url = "{url}", format = "xml" }}
[privacy]
recipient = "same"
purposes = ["contact"]
categories = ["identity"]
"""

HOOK = """
version = 1
id = "hook"
name = "Personalization hook"
[outbound]
schema = "urn:cpex:profile:1.0"
endpoint = {{ kind = "webhook", url = "{url}" }}
[privacy]
recipient = "ours"
purposes = ["tailoring"]
fields = ["person.language", "emails"]
"""


def fast_settings(**overrides: object) -> DeliverySettings:
    values: dict[str, object] = {"timeout_seconds": 0.5, "backoff_seconds": 0.02,
                                 "backoff_max_seconds": 0.1, "max_attempts": 8, "batch": 20,
                                 "lease_seconds": 30.0}
    return DeliverySettings.model_validate({**values, **overrides})


def person(key: str, given: str = "Ada", *, email: str | None = None,
           consents: tuple[Consent, ...] | None = None, language: str | None = None) -> Profile:
    if consents is None:
        consents = (Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.GRANTED, GIVEN),)
    return Profile(
        identifiers=(Identifier("crm", key),),
        person=Person(given_name=given, family_name=f"Family{key}", language=language),
        emails=(Email(email or f"{key}@example.org"),),
        consents=consents,
    )


@dataclass
class Hub:
    gateway: Gateway
    folder: Path
    settings: DeliverySettings

    @property
    def engine(self) -> Engine:
        return self.gateway.engine

    def partners(self) -> PartnerRegistry:
        return load_partners(self.folder)

    def dispatcher(self, **kwargs: object) -> Dispatcher:
        return Dispatcher(self.gateway, partners=self.partners(), settings=self.settings,
                          **kwargs)  # type: ignore[arg-type]

    def save(self, profile: Profile, system: str = "crm") -> str:
        """Store a source profile and its outbox events in one transaction (as the pipeline)."""
        store = ProfileStore(self.engine)
        with write_transaction(self.engine) as conn:
            result = store.save_in_transaction(conn, profile, source_system=system, raw="<x/>")
            write_changes(conn, result.changes, cause={"test": True})
        return result.golden_id

    def drain(self, dispatcher: Dispatcher, *, seconds: float = 20.0,
              between: Callable[[], None] | None = None) -> None:
        """Rounds until no event is undispatched and no delivery pending (bounded)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            dispatcher.run_once()
            if between is not None:
                between()
            if self.open_work() == 0:
                return
            time.sleep(0.01)
        raise AssertionError(f"work left after {seconds} s: {self.open_work()} rows")

    def open_work(self) -> int:
        with self.engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(outbox_event)
                                  .where(outbox_event.c.dispatched_at.is_(None))).scalar_one()
            pending = conn.execute(select(func.count()).select_from(delivery)
                                   .where(delivery.c.status == "pending")).scalar_one()
        return int(events) + int(pending)

    def deliveries(self) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(delivery).order_by(delivery.c.id))
                    .mappings()]


@pytest.fixture
def partner() -> Iterator[PartnerServer]:
    server = PartnerServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub(migrated_engine: Engine, tmp_path: Path, partner: PartnerServer) -> Iterator[Hub]:
    folder = tmp_path / "partners"
    folder.mkdir()
    (folder / "shop.toml").write_text(SHOP.format(url=partner.url))
    (folder / "hook.toml").write_text(HOOK.format(url=partner.url.replace("/cpex", "/hook")))
    settings = load_settings(environ={}, overrides={"database.url": str(migrated_engine.url)})
    gateway = Gateway(settings, _engine=migrated_engine)
    yield Hub(gateway, folder, fast_settings())
