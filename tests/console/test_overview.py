"""The overview's figures and charts from real rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from gateway.monitoring import deliveries_per_hour, intake_per_hour
from gateway.store.tables import delivery
from tests.console.conftest import Site, signed_in, submit
from tests.pipeline.conftest import profile


def _delivery(site: Site, status: str, finished: datetime, n: int) -> None:
    with site.engine.begin() as conn:
        conn.execute(
            insert(delivery),
            {
                "golden_id": "gp_x",
                "partner": "acme",
                "kind": "profile",
                "message_id": f"m-{n}",
                "status": status,
                "attempts": 1,
                "created_at": finished,
                "available_at": finished,
                "finished_at": finished,
            },
        )


def test_counts_per_hour_by_outcome(site: Site) -> None:
    submit(
        site, [profile("1", "Able"), profile("2", "Baker"), profile("3", "C", country="x")], "o-1"
    )
    now = datetime.now(UTC)
    _delivery(site, "delivered", now, 1)
    _delivery(site, "dead", now, 2)
    _delivery(site, "delivered", now - timedelta(hours=3), 3)
    _delivery(site, "delivered", now - timedelta(hours=30), 4)  # outside 24 h

    intake = intake_per_hour(site.engine, now)
    assert len(intake) == 24 and intake[-1].start.hour == now.hour
    assert intake[-1].counts == {"stored": 2, "review": 0, "quarantined": 1}
    assert sum(sum(h.counts.values()) for h in intake[:-1]) == 0
    sent = deliveries_per_hour(site.engine, now)
    assert sent[-1].counts == {"delivered": 1, "dead": 1, "withheld": 0}
    assert sent[-4].counts["delivered"] == 1
    assert sum(h.counts["delivered"] for h in deliveries_per_hour(site.engine, now, 48)) == 3

    client, _ = signed_in(site, site.monitor_key)
    page = client.get("/console/").text
    assert "3 records in." in page and "3 deliveries finished." in page
    assert ": 2 stored</title>" in page and ": 1 quarantined</title>" in page
    assert 'id="backlog-quarantine"><a href="/console/quarantine">1</a>' in page
    week = client.get("/console/?range=7d").text
    assert "last 7 days" in week and "4 deliveries finished." in week
