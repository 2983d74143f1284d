"""The app factory: every endpoint has an access rule, errors are JSON, /health tells the truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.store.migrate import head_revision, upgrade
from gateway.web import create_app
from gateway.web.access import Access, access, check_rules, rule_of


def make_app(url: str) -> tuple[Flask, Gateway]:
    gateway = Gateway(load_settings(environ={}, overrides={"database.url": url}))
    return create_app(gateway=gateway), gateway


def test_every_endpoint_has_an_access_rule(tmp_path: Path) -> None:
    app, gateway = make_app(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert app.view_functions, "no endpoints registered"
        for name, view in app.view_functions.items():
            assert rule_of(view) in set(Access), name
    finally:
        gateway.close()


def test_an_endpoint_without_a_rule_stops_the_app() -> None:
    app = Flask("probe", static_folder=None)

    @app.get("/ruled")
    @access(Access.ADMIN)
    def ruled() -> str:
        return "ok"

    check_rules(app)

    @app.get("/forgotten")
    def forgotten() -> str:
        return "oops"

    with pytest.raises(RuntimeError, match="without an authorisation rule: forgotten"):
        check_rules(app)


def test_health_on_a_migrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    upgrade(url)
    app, gateway = make_app(url)
    try:
        answer = app.test_client().get("/health")
        assert answer.status_code == 200
        assert answer.json == {
            "status": "ok",
            "database": {
                "reachable": True,
                "backend": "sqlite",
                "schema_revision": head_revision(),
                "expected_revision": head_revision(),
                "up_to_date": True,
            },
            "erp": {},  # no ERP refreshed yet (tests/erp/test_freshness.py)
        }
    finally:
        gateway.close()


def test_health_on_an_empty_database_says_out_of_date(tmp_path: Path) -> None:
    app, gateway = make_app(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        answer = app.test_client().get("/health")
        assert answer.status_code == 503
        assert answer.json["database"]["up_to_date"] is False
        assert answer.json["database"]["schema_revision"] is None
    finally:
        gateway.close()


def test_health_when_the_database_is_unreachable() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    app, gateway = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        answer = app.test_client().get("/health")
        assert answer.status_code == 503
        assert answer.json == {"status": "unavailable", "database": {"reachable": False}}
    finally:
        gateway.close()


def test_unknown_url_is_a_json_error(tmp_path: Path) -> None:
    app, gateway = make_app(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        answer = app.test_client().get("/nope")
        assert answer.status_code == 404
        assert answer.json["error"]["code"] == "not_found"
        assert answer.content_type == "application/json"
    finally:
        gateway.close()
