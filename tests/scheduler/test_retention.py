"""The retention job deletes operational rows past their use, and nothing else (SQLite and
PostgreSQL): undispatched events, dead deliveries, unfinished batches and open quarantine
entries stay whatever their age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, Table, delete, func, insert, select

from gateway.errors import ConfigError
from gateway.model import Identifier, Person, Profile
from gateway.pipeline.tables import inbound_message, outbox_event, quarantine_record
from gateway.privacy import DISCLOSURE_ACTION
from gateway.runtime import Gateway
from gateway.store.profiles import ProfileStore
from gateway.store.tables import audit_log, delivery, job_run
from scheduler.config import jobs_from
from scheduler.history import JobHistory
from scheduler.kinds import check_args
from scheduler.runner import SchedulerRunner

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=40)  # past the 30 days this test keeps every kind
YOUNG = NOW - timedelta(days=5)


def seed(engine: Engine) -> None:
    """Per kind: an old finished row (goes), a young finished row and an old unfinished one
    (both stay)."""
    with engine.begin() as conn:
        for n, (dispatched, created) in enumerate(((OLD, OLD), (YOUNG, OLD), (None, OLD))):
            conn.execute(insert(outbox_event).values(
                golden_id=f"gp_{n}", kind="created", version=1, payload={}, created_at=created,
                available_at=created, dispatched_at=dispatched))
        for n, (kind, status, finished) in enumerate((
                ("profile", "delivered", OLD), ("profile", "withheld", OLD),
                ("profile", "delivered", YOUNG), ("profile", "dead", OLD),
                ("optout", "delivered", OLD))):  # a notice: the record that shop was told
            conn.execute(insert(delivery).values(
                golden_id="gp_0", partner="shop", kind=kind, message_id=f"m-{n}",
                status=status, created_at=OLD, available_at=OLD, finished_at=finished))
        for n, (status, finished) in enumerate((("done", OLD), ("done", YOUNG),
                                                ("processing", None))):
            conn.execute(insert(inbound_message).values(
                source_system="shop", message_id=f"b-{n}", status=status, received_at=OLD,
                finished_at=finished))
        for n, finished in enumerate((OLD, YOUNG, None)):
            conn.execute(insert(job_run).values(
                job="erp-full", attempt=n + 1, trigger="manual",
                status="succeeded" if finished else "running", queued_at=OLD,
                finished_at=finished))
        for n, (status, decided) in enumerate((("retried", OLD), ("discarded", OLD),
                                               ("discarded", YOUNG), ("open", None))):
            conn.execute(insert(quarantine_record).values(
                status=status, source_system="shop", source="f.xml", format="xml",
                stage="validate", code="schema_invalid", errors=[], raw=f"<r>{n}</r>",
                raw_hash=f"{n:064d}", created_at=OLD, decided_at=decided))


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_expired_rows_go_and_the_rest_stays(gateway: Gateway) -> None:
    seed(gateway.engine)
    config = jobs_from({"jobs": {"retention": {
        "kind": "retention_purge", "trigger": {"type": "cron", "cron": "45 3 * * *"},
        "args": {"keep_days": {"outbox": 30, "deliveries": 30, "inbound_messages": 30,
                               "job_runs": 30, "quarantine_decided": 30}}}}}, file="test")
    run = JobHistory(gateway.engine).run(SchedulerRunner(gateway, config).run_now("retention"))
    assert run.status == "succeeded", run.error
    assert run.rows_written == 1 + 2 + 1 + 1 + 2
    engine = gateway.engine
    assert count(engine, outbox_event) == 2
    assert count(engine, delivery) == 3  # the young one, the dead one, the notice
    assert count(engine, inbound_message) == 2
    assert count(engine, job_run) == 2 + 1  # and the run of the purge itself
    assert count(engine, quarantine_record) == 2
    with engine.connect() as conn:
        kept = conn.execute(select(delivery.c.status).order_by(delivery.c.id)).scalars().all()
    assert kept == ["delivered", "dead", "delivered"]


def test_audit_purge_keeps_disclosures_of_people_still_here(gateway: Gateway) -> None:
    """Revocation and erasure notices go to the partners found in the disclosure audit: those
    rows outlive keep_days while the person is in the CRM base."""
    store = ProfileStore(gateway.engine)
    live = store.save_source_profile(
        Profile(identifiers=(Identifier("crm", "1"),), person=Person(family_name="Roe")),
        source_system="crm", raw="<x/>").golden_id
    with gateway.engine.begin() as conn:
        conn.execute(delete(audit_log))  # only the rows below
        for golden, action, at in ((live, DISCLOSURE_ACTION, OLD), ("gp_gone", DISCLOSURE_ACTION,
                                   OLD), (live, "golden.update", OLD), (live, "golden.update",
                                   YOUNG), (None, "mapping.saved", OLD)):
            conn.execute(insert(audit_log).values(at=at, actor="t", action=action,
                                                  golden_id=golden, partner="shop",
                                                  detail={}))
    config = jobs_from({"jobs": {"purge": {
        "kind": "audit_purge", "trigger": {"type": "cron", "cron": "15 3 * * *"},
        "args": {"keep_days": 30}}}}, file="test")
    run = JobHistory(gateway.engine).run(SchedulerRunner(gateway, config).run_now("purge"))
    assert run.status == "succeeded" and run.rows_written == 3
    with gateway.engine.connect() as conn:
        left = conn.execute(select(audit_log.c.golden_id, audit_log.c.action, audit_log.c.at)
                            .order_by(audit_log.c.id)).all()
    assert [(g, a) for g, a, _ in left] == [(live, DISCLOSURE_ACTION), (live, "golden.update")]


def test_defaults_keep_more_and_bad_args_are_named() -> None:
    config = jobs_from({"jobs": {"retention": {
        "kind": "retention_purge", "trigger": {"type": "cron", "cron": "45 3 * * *"}}}},
        file="jobs.toml")
    assert check_args("retention_purge", dict(config.jobs[0].args)).keep_days.deliveries == 90
    for keep, reason in (({"outbx": 3}, "outbx"), ({"outbox": 0}, "outbox")):
        with pytest.raises(ConfigError) as refused:
            jobs_from({"jobs": {"retention": {
                "kind": "retention_purge", "trigger": {"type": "cron", "cron": "45 3 * * *"},
                "args": {"keep_days": keep}}}}, file="jobs.toml")
        assert "jobs.retention.args.keep_days" in str(refused.value)
        assert reason in str(refused.value)
