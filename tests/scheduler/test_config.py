"""jobs.toml is checked at start: every error names the file, the job and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError
from scheduler.config import jobs_from, load_jobs
from scheduler.runner import latest_fire_time

REPO = Path(__file__).resolve().parents[2]


def job(**body: Any) -> dict[str, Any]:
    return {"version": 1, "jobs": {"nightly": {"kind": "erp_full",
                                               "trigger": {"type": "cron", "cron": "0 2 * * *"},
                                               **body}}}


def test_the_shipped_jobs_file_is_valid() -> None:
    config = load_jobs(load_settings(REPO / "config" / "gateway.toml", environ={}))
    assert {s.kind for s in config.jobs} == {"erp_incremental", "erp_reconcile", "erp_full",
                                             "file_drop_poll", "audit_purge", "retention_purge",
                                             "consent_expiry",
                                             "outbox_dispatch"}
    assert all(s.misfire_grace_minutes >= 10 for s in config.jobs)


@pytest.mark.parametrize(("body", "key", "reason"), [
    ({"colour": "red"}, "jobs.nightly.colour", "unknown key"),
    ({"kind": "erp_teleport"}, "jobs.nightly.kind", "unknown job kind 'erp_teleport'"),
    ({"trigger": {"type": "cron", "cron": "61 * * * *"}}, "jobs.nightly.trigger",
     "not a crontab expression"),
    ({"trigger": {"type": "interval"}}, "jobs.nightly.trigger", "above 0"),
    ({"trigger": {"type": "interval", "minutes": 5, "every": 3}}, "jobs.nightly.trigger.every",
     "unknown key"),
    ({"trigger": {"type": "hourly"}}, "jobs.nightly.trigger", "type"),
    ({"misfire_grace_minutes": 0}, "jobs.nightly.misfire_grace_minutes", "greater than"),
    ({"retries": "two"}, "jobs.nightly.retries", "integer"),
    ({"kind": "audit_purge", "args": {"keep": 3}}, "jobs.nightly.args.keep", "unknown key"),
    ({"kind": "audit_purge", "args": {"keep_days": 0}}, "jobs.nightly.args.keep_days",
     "greater than"),
])
def test_errors_name_the_job_and_key(body: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        jobs_from(job(**body), file="config/jobs.toml")
    assert info.value.file == "config/jobs.toml"
    assert info.value.key == key
    assert reason in info.value.reason
    assert f"key '{key}'" in str(info.value)


def test_top_level_errors() -> None:
    with pytest.raises(ConfigError, match=r"key 'timezone'"):
        jobs_from({"timezone": "Mars/Olympus"}, file="f")
    with pytest.raises(ConfigError, match=r"key 'version'"):
        jobs_from({"version": 9}, file="f")
    with pytest.raises(ConfigError, match=r"key 'job'"):
        jobs_from({"job": {}}, file="f")
    with pytest.raises(ConfigError, match=r"key 'defaults.retries'"):
        jobs_from({"defaults": {"retries": -1}}, file="f")


def test_defaults_apply_and_interval_slots_do_not_depend_on_start_time() -> None:
    config = jobs_from({"defaults": {"retries": 3}, "jobs": {"tick": {
        "kind": "audit_purge", "trigger": {"type": "interval", "seconds": 7}}}}, file="f")
    spec = config.job("tick")
    assert spec.retries == 3
    from datetime import UTC, datetime, timedelta

    now = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
    one = latest_fire_time(spec.make_trigger(config.zone), now, timedelta(minutes=1))
    two = latest_fire_time(spec.make_trigger(config.zone), now, timedelta(minutes=1))
    assert one == two and one is not None and one <= now
    assert (one - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds() % 7 == 0
    with pytest.raises(LookupError, match=r"no job named 'tock'"):
        config.job("tock")
