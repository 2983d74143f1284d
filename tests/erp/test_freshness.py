"""Freshness that means something, read as a CRM user, a partner integrator and ops would: the
figures' ``confirmed_at`` (last successful refresh that covered the customer, even if nothing
changed) and ``changed_at`` in JSON, XML, ``/metrics`` and ``/health``; exact decimals in both
JSON and XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from gateway.erp.refresh import ErpRefresher
from gateway.model import Identifier, Person, Profile
from gateway.store.profiles import ProfileStore
from gateway.xml.parser import parse_bytes
from tests.erp.conftest import erp_settings, make_refresher
from tests.web.conftest import Api, api  # noqa: F401  (the app on the test database)

CPEX = "{urn:cpex:profile:1.0}"


def _profile(api: Api, key: str) -> str:  # noqa: F811
    return ProfileStore(api.gateway.engine).save_source_profile(
        Profile(identifiers=(Identifier("erp", key),), person=Person(family_name="Weber")),
        source_system="erp", raw="<x/>").golden_id


def _refresher(api: Api, erp_path: Path, at: datetime) -> ErpRefresher:  # noqa: F811
    made = make_refresher(api.gateway.engine, erp_settings(erp_path))
    made.clock = lambda: at
    return made


def test_a_quiet_healthy_erp_stays_fresh_and_tells_when_figures_last_changed(
        api: Api, erp_path: Path) -> None:  # noqa: F811
    golden = _profile(api, "C-100902")
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    first = _refresher(api, erp_path, two_hours_ago)
    first.full()
    first.source.close()
    read = api.client.get(f"/api/v1/profiles/{golden}", headers=api.headers("admin"))
    erp = read.get_json()["erp"]
    assert erp["age_seconds"] >= 7000  # nothing confirmed since the full refresh
    assert erp["changed_at"] == erp["confirmed_at"] == two_hours_ago.isoformat()

    quiet = make_refresher(api.gateway.engine, erp_settings(erp_path))
    assert quiet.incremental().rows_written == 0  # nothing changed in the ERP
    quiet.source.close()

    read = api.client.get(f"/api/v1/profiles/{golden}", headers=api.headers("admin"))
    erp = read.get_json()["erp"]
    assert erp["age_seconds"] < 3600  # confirmed by the quiet refresh
    assert int(read.headers["CPEX-ERP-Age"]) == erp["age_seconds"]
    assert erp["changed_at"] == two_hours_ago.isoformat()  # ... though nothing changed
    assert datetime.fromisoformat(erp["confirmed_at"]) > two_hours_ago
    listed = api.client.get("/api/v1/profiles?name=Weber", headers=api.headers("admin"))
    item = listed.get_json()["items"][0]["erp"]
    assert item["confirmed_at"] == erp["confirmed_at"]
    assert item["changed_at"] == erp["changed_at"]

    xml = api.client.get(f"/api/v1/profiles/{golden}", headers={
        **api.headers("admin"), "Accept": "application/xml"})
    summary = parse_bytes(xml.data).find(f"{CPEX}FinancialSummary")
    assert summary is not None
    assert summary.findtext(f"{CPEX}ConfirmedAt") is not None
    assert datetime.fromisoformat(summary.findtext(f"{CPEX}ChangedAt") or "") == two_hours_ago
    financial = read.get_json()["financial"]
    # exact decimals, the same text in JSON and XML (4273.00 is never 4273)
    for name, element in (("lifetime_value", "LifetimeValue"), ("balance", "Balance")):
        assert summary.findtext(f"{CPEX}{element}") == financial[name]
        assert financial[name].count(".") == 1 and len(financial[name].split(".")[1]) == 2


def test_metrics_and_health_use_the_time_since_the_last_successful_refresh(
        api: Api, erp_path: Path) -> None:  # noqa: F811
    long_ago = datetime.now(UTC) - timedelta(hours=5)
    old = _refresher(api, erp_path, long_ago)
    old.full()
    old.source.close()

    def erp_age() -> float:
        answer = api.client.get("/metrics", headers=api.headers("admin"))
        for line in answer.get_data(as_text=True).splitlines():
            if line.startswith('cpex_erp_snapshot_age_seconds{source_system="erp"}'):
                return float(line.split()[-1])
        raise AssertionError("no ERP age in /metrics")

    assert erp_age() >= 5 * 3600 - 60
    health = api.client.get("/health").get_json()
    assert health["erp"]["erp"]["last_refresh_at"] == long_ago.isoformat()
    assert health["erp"]["erp"]["seconds_since_last_refresh"] >= 5 * 3600 - 60

    # The ERP goes down: failed refreshes confirm nothing, the age keeps growing.
    erp_path.rename(erp_path.with_suffix(".down"))
    down = make_refresher(api.gateway.engine, erp_settings(erp_path))
    try:
        down.incremental()
        raise AssertionError("the refresh should fail while the ERP is down")
    except Exception as exc:
        assert "erp" in str(exc)
    finally:
        down.source.close()
    assert erp_age() >= 5 * 3600 - 60

    # Back up and quiet: one successful incremental refresh, nothing changed, age drops.
    erp_path.with_suffix(".down").rename(erp_path)
    up = make_refresher(api.gateway.engine, erp_settings(erp_path))
    assert up.incremental().rows_written == 0
    up.source.close()
    assert erp_age() < 3600
    metrics = api.client.get("/metrics", headers=api.headers("admin")).get_data(as_text=True)
    assert 'cpex_erp_last_refresh_success_timestamp_seconds{source_system="erp"}' in metrics
    assert api.client.get("/health").get_json()["erp"]["erp"][
        "seconds_since_last_refresh"] < 3600


def test_a_customer_changed_in_the_erp_gets_a_new_changed_at_and_others_keep_theirs(
        api: Api, erp_path: Path) -> None:  # noqa: F811
    from gateway.erp.snapshot import erp_snapshot_for

    earlier = datetime.now(UTC) - timedelta(hours=1)
    first = _refresher(api, erp_path, earlier)
    first.full()
    first.source.close()
    erp = create_engine(f"sqlite:///{erp_path}")
    with erp.begin() as conn:
        conn.execute(text("UPDATE orders SET total = total + 10, modified_at = "
                          "'2031-01-01 00:00:00' WHERE order_no = (SELECT min(order_no) FROM "
                          "orders WHERE customer_no = 'C-100903')"))
    erp.dispose()
    again = make_refresher(api.gateway.engine, erp_settings(erp_path))
    assert again.incremental().rows_written == 1
    again.source.close()
    changed = erp_snapshot_for(api.gateway.engine, ("erp", "C-100903"))
    kept = erp_snapshot_for(api.gateway.engine, ("erp", "C-100904"))
    assert changed is not None and kept is not None
    assert changed.changed_at is not None and changed.changed_at > earlier
    assert kept.changed_at == earlier
    assert kept.confirmed_at is not None and kept.confirmed_at > earlier
