"""Two dispatcher processes (``cpex-gateway dispatcher``) on one PostgreSQL database share the
work: every delivery is sent once, in order per person, and both took part."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.store.engine import make_engine, with_search_path
from gateway.store.migrate import upgrade
from tests.delivery.conftest import SHOP, Hub, fast_settings, person
from tests.delivery.partner_server import PartnerServer

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("cpex-gateway")


@pytest.fixture
def pg_url(postgres_server: Engine) -> Iterator[str]:
    schema = f"cpex_test_{secrets.token_hex(6)}"
    with postgres_server.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(postgres_server.url, schema).render_as_string(hide_password=False)
    finally:
        with postgres_server.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_two_dispatcher_processes_send_each_delivery_once(
    pg_url: str, tmp_path: Path, partner: PartnerServer
) -> None:
    def slow_ok(number: int, body: bytes) -> str:
        time.sleep(0.01)  # a partner that takes a moment, so both workers get a share
        return "ok"

    partner.behave = slow_ok
    config = tmp_path / "config"
    (config / "partners").mkdir(parents=True)
    (config / "partners" / "shop.toml").write_text(SHOP.format(url=partner.url))
    (config / "gateway.toml").write_text(
        f'version = 1\n[paths]\nschemas = "{REPO / "schemas"}"\nmappings = "{REPO / "mappings"}"\n'
        f'var = "{tmp_path / "var"}"\n'
    )
    (config / "delivery.toml").write_text("version = 1\nbatch = 5\ntimeout_seconds = 5\n")
    engine = make_engine(pg_url)
    upgrade(engine)
    settings = load_settings(environ={}, overrides={"database.url": pg_url})
    hub = Hub(Gateway(settings, _engine=engine), config / "partners", fast_settings())
    people = [hub.save(person(str(i))) for i in range(60)]
    for i in range(60):
        hub.save(person(str(i), given=f"Second-{i}"))

    env = {**os.environ, "CPEX_DATABASE_URL": pg_url}
    command = [str(CLI), "--config", str(config / "gateway.toml"), "dispatcher",
               "--max-seconds", "60", "--idle-seconds", "0.05", "--exit-when-idle"]
    workers = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [w.communicate(timeout=90) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    rows = hub.deliveries()
    assert len(rows) == 120 and {r["status"] for r in rows} == {"delivered"}
    accepted = partner.accepted_ids()
    assert sorted(accepted) == sorted(str(r["message_id"]) for r in rows)  # each exactly once
    assert len({r["locked_by"] for r in rows}) == 2  # both processes sent some
    order = {str(r["message_id"]): (r["golden_id"], r["id"]) for r in rows}
    for golden in people:
        ids = [order[m][1] for m in accepted if order[m][0] == golden]
        assert ids == sorted(ids) and len(ids) == 2
    engine.dispose()
