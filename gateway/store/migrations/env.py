"""Alembic environment for the CRM base, run only through :mod:`gateway.store.migrate`.

The caller passes an open connection in ``config.attributes["connection"]`` and owns its
transaction, so migrations run wherever that connection points (a test's PostgreSQL schema
through ``search_path``, a SQLite file) and commit or roll back with it. Offline ``--sql`` mode is
not supported.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gateway.errors import StoreError
from gateway.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise StoreError(
        "migrations run through gateway.store.migrate (or 'cpex-gateway db upgrade'), "
        "which passes a database connection; the plain alembic command is not supported"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: later migrations use batch mode there.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
