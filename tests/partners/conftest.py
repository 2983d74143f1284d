from tests.cli.conftest import sqlite_env  # noqa: F401  (the CLI tests run on it too)
