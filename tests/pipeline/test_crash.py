"""kill -9 in the middle of ``cpex-gateway import``, then a re-send: the same rows as one clean
import, no duplicates, every stored record with its outbox event (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, make_url, select

from gateway.pipeline.tables import inbound_message, outbox_event
from gateway.store.engine import make_engine, with_search_path
from gateway.store.migrate import upgrade
from gateway.store.tables import source_record
from tests.pipeline.conftest import REPO, counts, load_generator

PROFILES = 6000  # long enough to be killed mid-way, however fast the import gets


def run_import(db_url: str, batch: Path) -> subprocess.Popen[bytes]:
    """``cpex-gateway import`` in a child process; its output goes to files beside the batch."""
    env = {
        **os.environ,
        "CPEX_CONFIG": str(REPO / "config" / "gateway.toml"),
        "CPEX_DATABASE_URL": db_url,
    }
    command = [sys.executable, "-c", "from gateway.cli import main; raise SystemExit(main())",
               "import", str(batch)]
    log = batch.with_suffix(f".{time.monotonic_ns()}.log")
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def finish(child: subprocess.Popen[bytes]) -> None:
    assert child.wait(timeout=300) == 0, f"import failed: see {child.args}"


def events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox_event)).scalar_one())


def test_kill_9_mid_import_then_resend_equals_one_clean_import(
    db_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.xml"
    load_generator().write(batch, PROFILES, 0.02, 0.05, 11)

    child = run_import(db_url, batch)
    deadline = time.monotonic() + 120
    while events(migrated_engine) == 0:  # the first chunk is committed
        assert child.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    cut = counts(migrated_engine)
    assert 0 < cut["records"] < PROFILES, "killed too late to test anything"
    with migrated_engine.connect() as conn:
        assert conn.execute(select(inbound_message.c.status)).scalar_one() == "processing"

    finish(run_import(db_url, batch))
    resumed = counts(migrated_engine)

    with clean_database(db_url, tmp_path) as clean_url:
        finish(run_import(clean_url, batch))
        clean_engine = make_engine(clean_url)
        try:
            assert resumed == counts(clean_engine)
        finally:
            clean_engine.dispose()
    assert resumed["records"] == PROFILES
    with migrated_engine.connect() as conn:
        keys = conn.execute(
            select(func.count(func.distinct(source_record.c.source_key)))
        ).scalar_one()
        assert conn.execute(select(inbound_message.c.status)).scalar_one() == "done"
    assert keys == PROFILES


@contextmanager
def clean_database(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second migrated database beside the test's: a SQLite file, or a PostgreSQL schema of
    its own (dropped afterwards)."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'clean.db'}"
        upgrade(url)
        yield url
        return
    server_url = make_url(db_url).difference_update_query(["options"])
    schema = f"cpex_test_{secrets.token_hex(6)}"
    server = make_engine(server_url)
    try:
        with server.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = with_search_path(server_url, schema).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with server.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        server.dispose()
