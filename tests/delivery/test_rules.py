"""The pure parts: routing, backoff, the delivery settings file."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_settings
from gateway.delivery.backoff import retry_delay
from gateway.delivery.routing import DeliveryKind, History, Route
from gateway.delivery.routing import route_event as routed
from gateway.delivery.settings import load_delivery_settings
from gateway.errors import ConfigError
from gateway.model import Profile
from gateway.partners.registry import load_partners
from gateway.privacy import Evidence
from tests.delivery.conftest import SHOP, Hub, person

NOW = datetime(2025, 6, 1, tzinfo=UTC)
EARLIER = NOW - timedelta(days=1)


@pytest.fixture
def partners(tmp_path: Path) -> list:  # type: ignore[type-arg]
    (tmp_path / "shop.toml").write_text(SHOP.format(url="http://127.0.0.1:1/cpex"))
    return list(load_partners(tmp_path))


def test_routing(partners: list) -> None:  # type: ignore[type-arg]
    fresh = History({}, {})
    profile = person("1")
    trusted = Evidence(consents=profile.consents)  # as if the CRM recorded them

    def route_event(kind: str, person: Profile | None, partners: list,  # type: ignore[type-arg]
                    history: History, now: datetime, **kwargs: Any) -> list[Route]:
        evidence = trusted if person is not None and person.consents else Evidence()
        return routed(kind, person, partners, history, now, evidence=evidence, **kwargs)

    assert route_event("updated", profile, partners, fresh, NOW) == [
        Route("shop", DeliveryKind.PROFILE, profile.consents[0].purpose)]
    no_consent = person("1", consents=())
    assert route_event("updated", no_consent, partners, fresh, NOW) == []  # default deny
    # a consent the partner recorded itself is not one the gateway trusts
    assert routed("updated", profile, partners, fresh, NOW, evidence=Evidence()) == []
    received = History({"shop": EARLIER}, {})
    assert route_event("updated", no_consent, partners, received, NOW) == [
        Route("shop", DeliveryKind.OPTOUT)]
    told = History({"shop": EARLIER}, {"shop": (DeliveryKind.OPTOUT, NOW)})
    assert route_event("consent_revoked", no_consent, partners, told, NOW) == []
    assert route_event("consent_revoked", profile, partners, fresh, NOW) == []
    assert route_event("erased", None, partners, told, NOW) == [Route("shop", DeliveryKind.ERASE)]
    erased_told = History({"shop": EARLIER}, {"shop": (DeliveryKind.ERASE, NOW)})
    assert route_event("erased", None, partners, erased_told, NOW) == []
    assert route_event("erased", None, partners, received, NOW, exclude=["shop"]) == []
    gone = History({"old-partner": EARLIER}, {})
    [route] = route_event("erased", None, partners, gone, NOW)
    assert route.unreachable == "partner is no longer registered"  # visible, not dropped


def test_backoff_doubles_caps_and_spreads() -> None:
    delays = [retry_delay(n, base_seconds=1, max_seconds=10, jitter=0).total_seconds()
              for n in range(1, 7)]
    assert delays == [1, 2, 4, 8, 10, 10]
    rng = random.Random(7)
    spread = {retry_delay(3, base_seconds=1, max_seconds=10, jitter=0.5, rng=rng)
              for _ in range(20)}
    assert len(spread) > 10 and all(2 <= d.total_seconds() <= 6 for d in spread)
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0, base_seconds=1, max_seconds=1, jitter=0)


def test_settings_file(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    assert load_delivery_settings(settings, None).max_attempts >= 1  # no file: defaults
    file = tmp_path / "delivery.toml"
    file.write_text('version = 1\nmax_attempts = 3\n[partners.x]\nauth = { kind = "basic", '
                    'username = "u", password_env = "P" }\n')
    loaded = load_delivery_settings(settings, file)
    assert loaded.max_attempts == 3 and loaded.partner("x").auth is not None
    file.write_text("version = 1\nmax_attempt = 3\n")
    with pytest.raises(ConfigError) as info:
        load_delivery_settings(settings, file)
    assert info.value.key == "max_attempt" and "unknown key" in info.value.reason
    file.write_text('version = 1\n[partners.x]\nauth = { kind = "bearer" }\n')
    with pytest.raises(ConfigError, match=r"partners\.x\.auth"):
        load_delivery_settings(settings, file)


def test_outbox_dispatch_job_kind(hub: Hub) -> None:
    from scheduler.kinds import JobContext, check_args, kind

    hub.save(person("1", consents=()))  # routed to nobody: the repo's partners stay untouched
    job = kind("outbox_dispatch")
    outcome = job.run(JobContext(hub.gateway, "outbox-dispatch", check_args("outbox_dispatch", {})))
    assert outcome.rows_read == 1 and "0 deliveries queued" in outcome.detail
    assert hub.open_work() == 0
