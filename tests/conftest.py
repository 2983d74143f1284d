"""Shared fixtures: one database fixture parametrised over SQLite and PostgreSQL.

Every test gets an empty database of its own: a SQLite file in its tmp_path, or a fresh
PostgreSQL schema (random name, dropped with CASCADE afterwards) that the URL puts on the
``search_path``. PostgreSQL comes from ``CPEX_TEST_POSTGRES_URL``; if it cannot be reached its
tests are skipped, except when ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.store.engine import make_engine, safe_url, with_search_path
from gateway.store.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine]:
    """An engine on the PostgreSQL test server (default schema), checked once per session."""
    url = os.environ.get("CPEX_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        engine.dispose()
        cause = getattr(exc, "orig", None) or exc
        first_line = str(cause).strip().partition("\n")[0]
        reason = (
            f"PostgreSQL not reachable at {safe_url(url)}: {type(cause).__name__}: {first_line}"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database for this test alone."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cpex.db'}"
        return
    server: Engine = request.getfixturevalue("postgres_server")
    schema = f"cpex_test_{secrets.token_hex(6)}"
    with server.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(server.url, schema).render_as_string(hide_password=False)
    finally:
        with server.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's empty database, disposed afterwards (no leaked connections)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    """The test's database, migrated to the newest revision."""
    upgrade(engine)
    return engine
