"""The runner: a failing job is retried and recorded and never stops the others; pause, resume
and queued runs; missed slots caught up at start."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from gateway.runtime import Gateway
from gateway.store.engine import write_transaction
from gateway.store.tables import job_state
from scheduler.config import jobs_from
from scheduler.history import JobHistory
from scheduler.runner import SchedulerRunner
from scheduler.service import JobsService
from tests.scheduler.conftest import wait_for


@pytest.fixture
def broken_erp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ERP config points at a database file that does not exist."""
    config = tmp_path / "erp.toml"
    config.write_text('version = 1\n[erp]\nurl = "sqlite:///var/missing-erp.db"\n'
                      '[erp.customers]\ntable = "customers"\nkey = "customer_no"\n'
                      'modified = "modified_at"\n')
    monkeypatch.setenv("CPEX_ERP_CONFIG", str(config))


def test_a_failing_job_is_retried_recorded_and_does_not_stop_others(
        gateway: Gateway, broken_erp: None) -> None:
    config = jobs_from({"jobs": {
        "broken": {"kind": "erp_incremental", "retries": 1, "retry_delay_seconds": 0,
                   "trigger": {"type": "interval", "seconds": 1}},
        "purge": {"kind": "audit_purge", "trigger": {"type": "interval", "seconds": 1}},
    }}, file="test")
    runner = SchedulerRunner(gateway, config, queue_poll_seconds=0.5)
    history = JobHistory(gateway.engine)
    runner.start()
    try:
        wait_for(lambda: any(r.attempt == 2 and r.status == "failed"
                             for r in history.runs("broken")))
        wait_for(lambda: sum(r.status == "succeeded" for r in history.runs("purge")) >= 2)
    finally:
        runner.shutdown()
    broken = history.runs("broken")
    first = [r for r in broken if r.attempt == 1]
    retry = [r for r in broken if r.attempt == 2]
    assert first and retry
    assert {r.trigger for r in retry} == {"retry"}
    assert retry[-1].slot == first[-1].slot or any(r.slot == retry[-1].slot for r in first)
    assert all(r.status == "failed" and "ConnectorError" in (r.error or "") for r in broken
               if r.finished_at)
    assert "unable to open database file" in (first[0].error or "")
    assert not (gateway.settings.path("var") / "missing-erp.db").exists()
    assert all(r.attempt <= 2 for r in broken)  # retries = 1: never a third attempt


def test_pause_resume_and_a_queued_run(gateway: Gateway) -> None:
    config = jobs_from({"jobs": {"purge": {
        "kind": "audit_purge", "trigger": {"type": "interval", "seconds": 1}}}}, file="test")
    service = JobsService(gateway, config)
    history = service.history
    history.ensure_jobs(["purge"])
    service.pause("purge")
    runner = SchedulerRunner(gateway, config, queue_poll_seconds=0.3)
    runner.start()
    try:
        time.sleep(2.2)
        assert [r for r in history.runs("purge") if r.trigger == "schedule"] == []
        queued = service.queue("purge")  # a hand-made run goes through even while paused
        assert queued.status == "queued"
        wait_for(lambda: history.run(queued.id).status == "succeeded")
        assert history.run(queued.id).runner == runner.owner
        service.resume("purge")
        wait_for(lambda: any(r.trigger == "schedule" for r in history.runs("purge")))
    finally:
        runner.shutdown()
    listed = {item["name"]: item for item in service.overview()}
    assert listed["purge"]["paused"] is False
    assert listed["purge"]["last_run"]["status"] in ("succeeded", "running")


def test_a_slot_missed_while_stopped_is_caught_up_once(gateway: Gateway) -> None:
    config = jobs_from({"jobs": {"hourly": {
        "kind": "audit_purge", "misfire_grace_minutes": 120,
        "trigger": {"type": "cron", "cron": "0 * * * *"}}}}, file="test")
    history = JobHistory(gateway.engine)
    history.ensure_jobs(["hourly"])
    with write_transaction(gateway.engine) as conn:  # it last ran two hours ago
        conn.execute(update(job_state).values(
            last_slot=datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            - timedelta(hours=2)))
    runner = SchedulerRunner(gateway, config)
    runner.start()
    try:
        wait_for(lambda: any(r.status == "succeeded" for r in history.runs("hourly")))
    finally:
        runner.shutdown()
    runs = history.runs("hourly")
    assert len(runs) == 1
    assert runs[0].slot == datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def test_run_now_records_a_manual_run(gateway: Gateway) -> None:
    config = jobs_from({"jobs": {"purge": {
        "kind": "audit_purge", "trigger": {"type": "cron", "cron": "0 3 * * *"}}}}, file="test")
    runner = SchedulerRunner(gateway, config)
    run = JobHistory(gateway.engine).run(runner.run_now("purge"))
    assert (run.status, run.trigger, run.slot, run.attempt) == ("succeeded", "manual", None, 1)
