"""Two real scheduler processes on one PostgreSQL database: every slot runs exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parents[2]
JOBS = """
version = 1
[jobs.tick]
kind = "audit_purge"
trigger = { type = "interval", seconds = 1 }
[jobs.tock]
kind = "audit_purge"
trigger = { type = "interval", seconds = 2 }
"""


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_scheduler_processes_run_each_slot_once(
        db_url: str, migrated_engine: Engine, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(JOBS)
    env = {**os.environ, "CPEX_CONFIG": str(REPO / "config" / "gateway.toml"),
           "CPEX_DATABASE_URL": db_url, "CPEX_JOBS_CONFIG": str(jobs),
           "PYTHONUNBUFFERED": "1"}
    command = [str(Path(sys.executable).parent / "cpex-gateway"), "scheduler"]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        # Both started (a loaded machine may take seconds), then enough slots ran: by deadline.
        for process in processes:
            assert process.stdout is not None
            seen = []
            while not seen or "running 2 jobs" not in seen[-1]:
                seen.append(process.stdout.readline())
                assert seen[-1], "".join(seen)  # ended before saying it runs
        deadline = time.monotonic() + 60
        while not _enough(migrated_engine):
            assert time.monotonic() < deadline, "too few runs within 60 s"
            time.sleep(0.2)
        for process in processes:
            assert process.poll() is None, process.communicate()[0]
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert all("scheduler stopped" in out for out in outputs), outputs
    with migrated_engine.connect() as conn:
        runs = conn.execute(text("SELECT job, slot, status, runner FROM job_run")).all()
    per_slot = Counter((r.job, r.slot) for r in runs)
    assert per_slot and max(per_slot.values()) == 1, per_slot.most_common(3)
    assert sum(1 for job, _ in per_slot if job == "tick") >= 4
    assert sum(1 for job, _ in per_slot if job == "tock") >= 2
    assert {r.status for r in runs} <= {"succeeded", "running"}


def _enough(engine: Engine) -> bool:
    """At least 4 ``tick`` and 2 ``tock`` slots have finished."""
    with engine.connect() as conn:
        done = dict(conn.execute(text(
            "SELECT job, count(DISTINCT slot) FROM job_run WHERE status = 'succeeded' "
            "GROUP BY job")).all())
    return done.get("tick", 0) >= 4 and done.get("tock", 0) >= 2
