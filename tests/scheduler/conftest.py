from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.config import load_settings
from gateway.runtime import Gateway
from tests.web.conftest import api  # noqa: F401 - the app fixture, for the jobs API tests

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def gateway(migrated_engine: Engine, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway on the test's migrated database, with the project folder at ``tmp_path``."""
    settings = load_settings(REPO / "config" / "gateway.toml", environ={},
                             overrides={"database.url": str(migrated_engine.url),
                                        "paths.var": str(tmp_path / "var"),
                                        "paths.mappings": str(REPO / "mappings"),
                                        "paths.schemas": str(REPO / "schemas")})
    settings = settings.model_copy(update={"base_dir": str(tmp_path)})
    yield Gateway(settings, _engine=migrated_engine)


def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    """Poll ``check`` until it holds; fail after ``seconds`` (a deadline, never a fixed sleep)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not true within {seconds} s")
