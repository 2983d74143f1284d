"""A partner that fails, times out and goes down: every delivery arrives once in order, or sits
in the dead letter with its reason. Nothing is lost silently. Then retry and replay."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from gateway.cli import main
from gateway.delivery import get_delivery
from tests.delivery.conftest import Hub, fast_settings, person
from tests.delivery.partner_server import PartnerServer
from tests.web.conftest import Api


def test_exactly_once_in_order_or_dead_letter(hub: Hub, partner: PartnerServer) -> None:
    def behave(number: int, body: bytes) -> str:
        if b"FamilyPoison" in body:
            return "refuse"  # the partner rejects this document: no retry can help
        if b"FamilyBroken" in body:
            return "fail"  # always 500: dead after max_attempts
        if number in (2, 5, 9):
            return "fail"
        if number in (3, 11):
            return "slow"  # kept by the partner, but answered after our timeout
        return "ok"

    partner.behave = behave
    partner.slow_seconds = 0.8
    # retries span ~1.3 s (0.02 s doubling, capped at 0.2 s, 10 attempts): longer than the outage
    hub.settings = fast_settings(backoff_max_seconds=0.2, max_attempts=10)
    golden = [hub.save(person(str(i), given=f"V0-{i}")) for i in range(4)]
    poison = hub.save(person("Poison"))
    broken = hub.save(person("Broken"))
    for version in (1, 2):
        for i in range(4):
            hub.save(person(str(i), given=f"V{version}-{i}"))

    dispatcher = hub.dispatcher()
    dispatcher.run_once()
    partner.stop()  # down for a while: connection refused, retries back off
    down_until = time.monotonic() + 0.5
    while time.monotonic() < down_until:
        dispatcher.run_once()
        time.sleep(0.02)
    partner.start()  # same port
    hub.drain(dispatcher)

    rows = hub.deliveries()
    assert len(rows) == 3 * 4 + 2  # one per event: 12 changes of 4 people, 2 more people
    assert hub.open_work() == 0
    by_status: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        by_status[str(row["status"])].append(row)
    assert set(by_status) == {"delivered", "dead"}
    dead = {row["golden_id"]: row for row in by_status["dead"]}
    assert set(dead) == {poison, broken}
    assert "HTTP 400" in str(dead[poison]["last_error"]) and dead[poison]["attempts"] == 1
    assert "HTTP 500" in str(dead[broken]["last_error"])
    assert dead[broken]["attempts"] == hub.settings.max_attempts

    accepted = partner.accepted_ids()
    delivered = {str(r["message_id"]): r for r in by_status["delivered"]}
    assert set(accepted) == set(delivered)  # each delivered one arrived; nothing else was kept
    repeats = len(accepted) - len(set(accepted))
    assert repeats <= 2  # only the two slow answers can be repeated, with the same message id
    first_seen = list(dict.fromkeys(accepted))
    for gid in golden:
        ids = [m for m in first_seen if delivered[m]["golden_id"] == gid]
        assert [delivered[m]["id"] for m in ids] == sorted(delivered[m]["id"] for m in ids)
        assert len(ids) == 3
    assert any(r["attempts"] > 1 for r in by_status["delivered"])  # the outage was retried


def test_retry_and_replay_from_cli_and_rest(hub: Hub, partner: PartnerServer, api: Api,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    partner.behave = lambda n, body: "refuse" if n == 1 else "ok"
    hub.save(person("1"))
    dispatcher = hub.dispatcher()
    hub.drain(dispatcher)
    [row] = hub.deliveries()
    assert row["status"] == "dead"

    admin = api.headers("admin")
    listed = api.client.get("/api/v1/deliveries?status=dead&partner=shop", headers=admin).json
    assert [item["id"] for item in listed["items"]] == [row["id"]]
    assert api.client.get("/api/v1/deliveries?status=lost", headers=admin).status_code == 400
    shown = api.client.get(f"/api/v1/deliveries/{row['id']}", headers=admin).json
    assert shown["last_error"].startswith("partner 'shop' (HTTP 400)")
    assert api.client.post(f"/api/v1/deliveries/{row['id']}/replay",
                           headers=admin).status_code == 201  # a dead one may be replayed too
    retried = api.client.post(f"/api/v1/deliveries/{row['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json["status"] == "pending"
    again = api.client.post(f"/api/v1/deliveries/{row['id']}/retry", headers=admin)
    assert again.status_code == 409 and again.json["error"]["code"] == "delivery_state"
    hub.drain(dispatcher)
    assert get_delivery(hub.engine, int(row["id"])).status == "delivered"
    assert partner.accepted_ids().count(str(row["message_id"])) == 1

    # CLI: the same actions on the same database
    monkeypatch.setenv("CPEX_DATABASE_URL", hub.engine.url.render_as_string(hide_password=False))
    assert main(["deliveries", "replay", str(row["id"])]) == 0
    assert main(["deliveries", "retry", str(row["id"])]) == 2  # delivered: replay instead
    assert main(["deliveries", "list", "--status", "pending"]) == 0
    hub.drain(dispatcher)
    replays = [r for r in hub.deliveries() if r["replay_of"] == row["id"]]
    assert len(replays) == 2 and all(r["status"] == "delivered" for r in replays)
    assert len({r["message_id"] for r in replays} | {row["message_id"]}) == 3
