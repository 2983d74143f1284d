from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
