from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.web import create_app


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    gateway: Gateway
    admin_key: str
    partner_key: str

    def headers(self, who: str) -> dict[str, str]:
        token = {"admin": self.admin_key, "partner": self.partner_key}.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def api(migrated_engine: Engine) -> Iterator[Api]:
    """The app on a migrated database (SQLite and PostgreSQL), with an admin and a partner key."""
    settings = load_settings(environ={}, overrides={"database.url": str(migrated_engine.url)})
    yield _serve(Gateway(settings, _engine=migrated_engine), admin="ops")


def _serve(gateway: Gateway, *, admin: str) -> Api:
    """The app of ``gateway``, with an admin key named ``admin`` and partner acme's key."""
    keys = CredentialStore(gateway.engine)
    admin_key = keys.issue(admin, Role.ADMIN).token
    partner_key = keys.issue("acme", Role.PARTNER, partner_id="acme").token
    app = create_app(gateway=gateway)
    return Api(app, app.test_client(), gateway, admin_key, partner_key)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released together (a race, as two clients make one); their
    results in order."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait(timeout=30)
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def mapping_api(
    migrated_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """The app with its own copy of mappings/ (saving writes files)."""
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    settings = load_settings(
        environ={},
        overrides={
            "database.url": str(migrated_engine.url),
            "paths.mappings": str(folder),
            "paths.schemas": str(REPO / "schemas"),
        },
    )
    yield _serve(Gateway(settings, _engine=migrated_engine), admin="alice")
