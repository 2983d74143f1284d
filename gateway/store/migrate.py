"""Schema migrations of the CRM base, run from code (``cpex-gateway db upgrade`` calls these).

The alembic configuration is built here rather than read from an ``alembic.ini``: the scripts
ship inside the package (``gateway/store/migrations``), so an installed gateway can migrate its
database from any working directory. Each call runs in one transaction on a connection handed to
``env.py``; PostgreSQL and SQLite (with the engine's explicit ``BEGIN``) both roll DDL back, so a
failed upgrade leaves the previous revision in place.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import SchemaOutOfDateError, StoreError
from gateway.store.engine import make_engine, safe_url, store_error, write_transaction

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config for the packaged scripts, with ``connection`` for ``env.py``.

    Public so that a later ``cpex-gateway db revision`` command can reuse it.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision this code knows (what the database must be at). Read from the
    migration scripts once per process: they do not change under a running process, and the
    health check asks on every probe."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only if the versions folder was not packaged
        raise StoreError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction.

    An engine made here from a URL is disposed before returning.

    :raises StoreError: the database cannot be reached or a migration failed.
    """
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with write_transaction(engine) as conn:
            command.upgrade(alembic_config(conn), revision)
        log.info("database %s upgraded to %s", safe_url(engine.url), revision)
    except SQLAlchemyError as exc:
        raise store_error(f"upgrading {safe_url(engine.url)} to {revision}", exc) from exc
    except CommandError as exc:
        raise StoreError(f"upgrading {safe_url(engine.url)} to {revision}: {exc}") from exc
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` for an empty (never migrated) database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise store_error(f"reading the schema revision of {safe_url(engine.url)}", exc) from exc


def ensure_up_to_date(engine: Engine) -> None:
    """Check at startup that the database is at :func:`head_revision`.

    :raises SchemaOutOfDateError: the database is empty or behind (the message says to run
        ``cpex-gateway db upgrade``).
    :raises StoreError: the database is at a revision this code does not know, typically
        because a newer gateway migrated it; upgrading would not help.
    """
    current = current_revision(engine)
    expected = head_revision()
    if current == expected:
        return
    if current is not None and not _is_known(current):
        raise StoreError(
            f"database {safe_url(engine.url)} is at revision {current}, which this gateway "
            f"does not know (it needs {expected}): was it migrated by a newer version?"
        )
    raise SchemaOutOfDateError(current, expected)


def _is_known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
