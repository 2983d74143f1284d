"""A consent that runs out: the consent_expiry job tells the partners that received the data
(one opt-out notice each) without waiting for the person's next change; a second run in the
same window tells nobody again (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from gateway.model import Consent, ConsentStatus, Purpose, Recipient
from scheduler.config import jobs_from
from scheduler.history import JobHistory
from scheduler.runner import SchedulerRunner
from tests.delivery.conftest import GIVEN, Hub, person
from tests.delivery.partner_server import PartnerServer

JOBS = jobs_from({"jobs": {"consent-expiry": {
    "kind": "consent_expiry", "trigger": {"type": "cron", "cron": "5 * * * *"}}}}, file="test")


def test_expired_consents_send_optout_notices(hub: Hub, partner: PartnerServer) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=2)
    short = (Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.GRANTED, GIVEN, soon),)
    lasting = (Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.GRANTED, GIVEN),)
    expiring, staying = hub.save(person("1", consents=short)), hub.save(person("2",
                                                                                consents=lasting))
    dispatcher = hub.dispatcher()
    hub.drain(dispatcher)
    assert {r["golden_id"] for r in hub.deliveries()} == {expiring, staying}
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)

    runner, history = SchedulerRunner(hub.gateway, JOBS), JobHistory(hub.engine)
    run = history.run(runner.run_now("consent-expiry"))
    assert (run.status, run.rows_written) == ("succeeded", 1)
    hub.drain(dispatcher)
    notices = [(r["golden_id"], r["partner"], r["kind"], r["status"]) for r in hub.deliveries()
               if r["kind"] != "profile"]
    assert notices == [(expiring, "shop", "optout", "delivered")]

    again = history.run(runner.run_now("consent-expiry"))  # the window starts at the last run
    assert (again.status, again.rows_written) == ("succeeded", 0)
    hub.drain(dispatcher)
    assert len([r for r in hub.deliveries() if r["kind"] == "optout"]) == 1
