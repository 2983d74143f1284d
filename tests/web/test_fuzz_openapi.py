"""Fuzzing every operation of ``openapi.json`` against the WSGI app (schemathesis on hypothesis),
on SQLite: valid and invalid parameters and bodies, each with the key its operation takes.

What must hold for every request: no 5xx (a SOAP Fault is the one documented 500) and no
status the description does not list for the operation. The examples are bounded and the run
is derandomized, so it is a fixed part of the suite rather than a search that differs per run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.store.engine import make_engine
from gateway.store.migrate import upgrade
from gateway.web import create_app
from gateway.web.openapi import describe

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = 10


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One app for the whole run (what one operation's cases store, the next ones meet), on
    its own SQLite file and copy of mappings/, and a key per security scheme."""
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(REPO / "mappings", folder / "mappings")
    engine = make_engine(f"sqlite:///{folder / 'fuzz.db'}")
    upgrade(engine)
    gateway = Gateway(_settings(str(engine.url), folder), _engine=engine)
    keys = CredentialStore(engine)
    tokens = {
        "adminKey": keys.issue("fuzz-admin", Role.ADMIN).token,
        "partnerKey": keys.issue("fuzz-acme", Role.PARTNER, partner_id="acme").token,
        "monitorKey": keys.issue("fuzz-monitor", Role.MONITOR).token,
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
        yield {"app": create_app(gateway=gateway), "keys": tokens}
    engine.dispose()


def _settings(url: str, folder: Path) -> Any:
    return load_settings(
        REPO / "config" / "gateway.toml",
        environ={},
        overrides={
            "database.url": url,
            "paths.mappings": str(folder / "mappings"),
            "paths.schemas": str(REPO / "schemas"),
            "paths.var": str(folder / "var"),
        },
    )


def _description() -> dict[str, Any]:
    """The app's OpenAPI document (describing the app opens no database)."""
    app = create_app(gateway=Gateway(_settings("sqlite://", REPO)))
    return describe(app)


# Built at collection (schemathesis's fixture-based loading does not run on pytest 9.2);
# each test sends its cases to its own app (``app=`` below).
schema = schemathesis.openapi.from_dict(_description())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_no_undocumented_status(case: Any, fuzzed: dict[str, Any]) -> None:
    security = case.operation.definition.raw.get("security") or []
    scheme = next(iter(security[0]), None) if security else None
    headers = {"Authorization": f"Bearer {fuzzed['keys'][scheme]}"} if scheme else {}
    checks = [status_code_conformance]
    if not case.operation.path.startswith("/soap/"):  # a SOAP Fault is a documented 500
        checks.append(not_a_server_error)
    case.call_and_validate(app=fuzzed["app"], headers=headers, checks=checks)
