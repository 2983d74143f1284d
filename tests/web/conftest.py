from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    gateway = Gateway(settings, _engine=migrated_engine)
    keys = CredentialStore(migrated_engine)
    admin = keys.issue("ops", Role.ADMIN).token
    partner = keys.issue("acme", Role.PARTNER, partner_id="acme").token
    app = create_app(gateway=gateway)
    yield Api(app, app.test_client(), gateway, admin, partner)


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
    gateway = Gateway(settings, _engine=migrated_engine)
    keys = CredentialStore(migrated_engine)
    admin = keys.issue("alice", Role.ADMIN).token
    partner = keys.issue("acme", Role.PARTNER, partner_id="acme").token
    app = create_app(gateway=gateway)
    yield Api(app, app.test_client(), gateway, admin, partner)
