"""The production layout of ``docs/ops/Procfile`` on PostgreSQL: 2 gunicorn web workers,
2 schedulers and 2 dispatchers, started from the Procfile's own lines.

Profiles are imported through both web workers at once, an ERP refresh is queued through the
API, a job ticks every second, and every profile change is delivered to a partner on loopback.
Then: each scheduled slot and the queued refresh ran exactly once, every delivery arrived
exactly once, nothing is left pending. Every wait has a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from gateway.erp.demo import create_demo_erp
from gateway.security.credentials import CredentialStore, Role
from gateway.store.tables import delivery, erp_customer, source_record
from tests.cli.demo_process import Output
from tests.delivery.partner_server import PartnerServer

REPO = Path(__file__).resolve().parents[2]
PROCFILE = REPO / "docs" / "ops" / "Procfile"
BATCHES, PER_BATCH = 4, 10
SHOP = """version = 1
id = "shop"
name = "Shop"
[outbound]
schema = "urn:cpex:profile:1.0"
endpoint = {{ kind = "rest", url = "{url}", format = "xml" }}
[privacy]
recipient = "same"
purposes = ["contact"]
categories = ["identity", "contact"]
"""
JOBS = """version = 1
[jobs.tick]
kind = "audit_purge"
trigger = { type = "interval", seconds = 1 }
retries = 0
[jobs.erp-full]
kind = "erp_full"
trigger = { type = "cron", cron = "0 2 1 1 *" }
"""
NS = 'xmlns:ex="urn:cpex:exchange:1.0" xmlns:cpex="urn:cpex:profile:1.0"'


def procfile() -> dict[str, str]:
    lines = [
        line
        for line in PROCFILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return dict(line.split(": ", 1) for line in lines)


def batch(n: int) -> bytes:
    profiles = "".join(
        f'<cpex:Profile><cpex:Identifiers><cpex:Identifier system="crm" key="p{n}-{i}"/>'
        f"</cpex:Identifiers><cpex:Person><cpex:GivenName>Ann</cpex:GivenName>"
        f"<cpex:FamilyName>Family{n}x{i}</cpex:FamilyName></cpex:Person>"
        f"<cpex:Emails><cpex:Email>ann.{n}.{i}@example.org</cpex:Email></cpex:Emails>"
        "<cpex:Consents><cpex:Consent><cpex:Purpose>contact</cpex:Purpose>"
        "<cpex:Recipient>same</cpex:Recipient><cpex:Status>granted</cpex:Status>"
        "<cpex:Given>2024-01-01T00:00:00Z</cpex:Given></cpex:Consent></cpex:Consents>"
        "</cpex:Profile>"
        for i in range(PER_BATCH)
    )
    return (
        f"<ex:Envelope {NS}><ex:Header><ex:MessageId>prod-{n}</ex:MessageId>"
        "<ex:Sender>crm</ex:Sender><ex:Recipient>gateway</ex:Recipient>"
        "<ex:Timestamp>2024-11-01T03:00:00Z</ex:Timestamp><ex:Operation>upsert</ex:Operation>"
        f"</ex:Header><ex:Body><ex:Batch>{profiles}</ex:Batch></ex:Body></ex:Envelope>"
    ).encode()


def until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.2)


@pytest.fixture
def site(tmp_path: Path, partner: PartnerServer) -> Path:
    """A deployment folder: settings, the shop partner, jobs, the demo ERP."""
    config = tmp_path / "config"
    (config / "partners").mkdir(parents=True)
    shutil.copy(REPO / "config" / "gateway.toml", config / "gateway.toml")
    shutil.copy(REPO / "config" / "erp.toml", config / "erp.toml")
    (config / "partners" / "shop.toml").write_text(SHOP.format(url=partner.url))
    (config / "jobs.toml").write_text(JOBS)
    (config / "delivery.toml").write_text("version = 1\nbackoff_seconds = 0.2\n")
    create_demo_erp(tmp_path / "var" / "demo-erp.db")
    return tmp_path


@pytest.fixture
def partner() -> Iterator[PartnerServer]:
    server = PartnerServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_of_each_process_on_postgresql(
    db_url: str, migrated_engine: Engine, site: Path, partner: PartnerServer
) -> None:
    key = CredentialStore(migrated_engine).issue("ops", Role.ADMIN).token
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPEX_")}
    env.update(
        CPEX_HOME=str(site),
        CPEX_DATABASE_URL=db_url,
        PYTHONUNBUFFERED="1",
        WEB_CONCURRENCY="2",
        BIND="127.0.0.1:0",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    commands = procfile()
    assert set(commands) == {"web", "scheduler", "dispatcher"}
    started: list[tuple[str, subprocess.Popen[str], Output]] = []
    try:
        for name, count in (("web", 1), ("scheduler", 2), ("dispatcher", 2)):
            for _ in range(count):
                process = subprocess.Popen(
                    ["bash", "-c", commands[name]],
                    cwd=site,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,
                )
                started.append((name, process, Output(process)))
        web = started[0][2]
        port = web.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)", 90).group(1)
        until(lambda: len(re.findall(r"Booting worker", web.text)) >= 2, 90, "two web workers")
        for name, _, output in started[1:]:
            output.wait_for(
                "scheduler .* running 2 jobs" if name == "scheduler" else "dispatcher .* running",
                90,
            )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}

        # Import through both workers at once; queue one ERP refresh.
        answers: list[int] = []

        def send(n: int) -> None:
            request = urllib.request.Request(
                f"{base}/api/v1/profiles",
                data=batch(n),
                headers={**headers, "Content-Type": "application/xml"},
            )
            with urllib.request.urlopen(request, timeout=60) as answer:
                answers.append(answer.status)

        senders = [threading.Thread(target=send, args=(n,)) for n in range(BATCHES)]
        for thread in senders:
            thread.start()
        queued = urllib.request.Request(
            f"{base}/api/v1/jobs/erp-full/run", data=b"", headers=headers, method="POST"
        )
        with urllib.request.urlopen(queued, timeout=30) as answer:
            assert answer.status == 202
            run_id = json.load(answer)["queued"]["id"]
        for thread in senders:
            thread.join(timeout=120)
        assert sorted(answers) == [200] * BATCHES

        expected = BATCHES * PER_BATCH
        until(
            lambda: _count(migrated_engine, delivery.c.status == "delivered") == expected,
            120,
            f"{expected} deliveries delivered",
        )
        until(
            lambda: _run_status(migrated_engine, run_id) == "succeeded",
            120,
            "the queued ERP refresh",
        )
        until(lambda: _ticks(migrated_engine) >= 4, 60, "four tick slots")
    finally:
        for _, process, _ in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process, _ in started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

    # Nothing ran twice, nothing was lost.
    with migrated_engine.connect() as conn:
        runs = conn.execute(
            text("SELECT id AS id_, job, slot, trigger, status, runner FROM job_run")
        ).all()
        rows = conn.execute(select(delivery.c.message_id, delivery.c.status)).all()
        customers = conn.execute(select(func.count()).select_from(erp_customer)).scalar_one()
        people = conn.execute(select(func.count()).select_from(source_record)
                              .where(source_record.c.source_system == "crm")).scalar_one()
    slots = Counter((r.job, r.slot) for r in runs if r.slot is not None)
    assert slots and max(slots.values()) == 1, slots.most_common(3)
    refreshes = [r for r in runs if r.job == "erp-full"]
    assert [(r.id_, r.status) for r in refreshes] == [(run_id, "succeeded")]  # once, by one
    assert customers == 40
    assert people == BATCHES * PER_BATCH  # every imported record stored once
    assert len(rows) == BATCHES * PER_BATCH and {r.status for r in rows} == {"delivered"}
    accepted = partner.accepted_ids()
    assert sorted(accepted) == sorted(r.message_id for r in rows)  # each once, none missing


def _count(engine: Engine, where: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(delivery).where(where)).scalar_one()
        )


def _run_status(engine: Engine, run_id: int) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT status FROM job_run WHERE id = :id"), {"id": run_id})
        return found.scalar()


def _ticks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(DISTINCT slot) FROM job_run "
                    "WHERE job = 'tick' AND status = 'succeeded'"
                )
            ).scalar_one()
        )
