"""The console under test: the real app served on 127.0.0.1 port 0, driven by Chromium.

Browser tests run on SQLite against a served gateway (werkzeug in a thread) and Debian's
``chromium`` (``CPEX_CHROMIUM`` names another executable); without it they are skipped, except
under ``CI=true`` (``.ci/run`` installs it). A failing browser test leaves a screenshot of its
page in ``var/test-screenshots/``. With ``CPEX_CONSOLE_SCREENSHOTS=1`` the flows also write the
screenshots docs/console.md shows, into ``docs/console/``.

The HTTP tests (sign-in, CSRF, headers, read-only) use Flask's test client on both databases.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine
from werkzeug.serving import make_server

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.store.engine import make_engine
from gateway.store.migrate import upgrade
from gateway.web import create_app

REPO = Path(__file__).resolve().parents[2]
FAILURES = REPO / "var" / "test-screenshots"
DOC_SHOTS = REPO / "docs" / "console"


@dataclass
class Site:
    """A gateway with the console, an admin key ("alice") and a monitor key ("mo")."""

    app: Flask
    gateway: Gateway
    admin_key: str
    monitor_key: str
    url: str = ""

    @property
    def engine(self) -> Engine:
        return self.gateway.engine


def build_site(db_url: str, engine: Engine, tmp_path: Path) -> Site:
    """The app on a migrated database with its own copy of mappings/ (saving writes files)."""
    upgrade(engine)
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    settings = load_settings(
        REPO / "config" / "gateway.toml",
        environ={},
        overrides={
            "database.url": db_url,
            "paths.mappings": str(folder),
            "paths.schemas": str(REPO / "schemas"),
            "paths.var": str(tmp_path / "var"),
        },
    )
    gateway = Gateway(settings, _engine=engine)
    keys = CredentialStore(engine)
    admin = keys.issue("alice", Role.ADMIN).token
    monitor = keys.issue("mo", Role.MONITOR).token
    return Site(create_app(gateway=gateway), gateway, admin, monitor)


@pytest.fixture
def site(
    migrated_engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Site:
    """The console on both databases, for the Flask test client."""
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    return build_site(db_url, migrated_engine, tmp_path)


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return site.app.test_client()


def signed_in(site: Site, key: str | None = None) -> tuple[FlaskClient, str]:
    """A test client signed in (admin unless ``key``), and its session's CSRF token."""
    client = site.app.test_client()
    answer = client.post("/console/sign-in", data={"key": key or site.admin_key})
    assert answer.status_code == 302, answer.text
    page = client.get("/console/jobs")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "every console page carries the CSRF token (sign-out form)"
    return client, found.group(1)


# --- the served gateway and the browser ------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The console on SQLite, served on 127.0.0.1 port 0 by werkzeug in a thread."""
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    db_url = f"sqlite:///{tmp_path / 'cpex.db'}"
    engine = make_engine(db_url)
    site = build_site(db_url, engine, tmp_path)
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-server", daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield site
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> str:
    path = os.environ.get("CPEX_CHROMIUM") or shutil.which("chromium")
    if not path:
        reason = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the browser tests must run", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":  # type: ignore[attr-defined]
        item.stash[_FAILED] = report.failed  # type: ignore[attr-defined]
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser_errors() -> list[str]:
    """Errors the page's console reported (a CSP refusal of our own script or style shows here)."""
    return []


@pytest.fixture
def page(
    browser: Browser, browser_errors: list[str], request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A fresh browser context at 1280 x 800; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)

    def note(text: str) -> None:
        if not text.startswith("Failed to load resource"):  # a 401/404 answer, not a fault
            browser_errors.append(text)

    page.on("console", lambda m: note(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: note(str(e)))
    yield page
    if request.node.stash.get(_FAILED, False):
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(FAILURES / f"{name}.png"), full_page=True)
    context.close()


def shoot(page: Page, name: str) -> None:
    """The screenshot docs/console.md shows, when ``CPEX_CONSOLE_SCREENSHOTS`` is set."""
    if os.environ.get("CPEX_CONSOLE_SCREENSHOTS"):
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, site: Site, key: str | None = None) -> None:
    """Sign in through the form, as a person does."""
    page.goto(f"{site.url}/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("API key").fill(key or site.admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def submit(site: Site, records: list[str], message_id: str, sender: str = "shop") -> list[Any]:
    """Records in through the REST API (the real pipeline), as a partner system sends them."""
    from tests.pipeline.conftest import envelope

    answer = site.app.test_client().post(
        "/api/v1/profiles",
        data=envelope(records, message_id=message_id, sender=sender).encode(),
        headers={"Authorization": f"Bearer {site.admin_key}", "Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.text
    results: list[Any] = answer.json["results"]
    return results
