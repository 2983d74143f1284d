"""A mapping saved through one process runs in every other process on the same mappings folder
within seconds (the watcher each long-running process starts); an invalid edit on disk never
replaces the version that runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.config import load_settings
from gateway.mapping_watch import MappingWatcher, watch_mappings
from gateway.runtime import Gateway

REPO = Path(__file__).resolve().parents[2]


def gateway_on(engine: Engine, folder: Path) -> Gateway:
    settings = load_settings(environ={}, overrides={
        "database.url": str(engine.url), "paths.mappings": str(folder),
        "paths.schemas": str(REPO / "schemas")})
    return Gateway(settings, _engine=engine)


def eventually(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def test_a_save_elsewhere_runs_here(migrated_engine: Engine, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    web, worker = gateway_on(migrated_engine, folder), gateway_on(migrated_engine, folder)
    name = "personalization-json"
    before = worker.mappings.text(name)
    watcher = MappingWatcher(worker.mapping_admin, interval_seconds=0.2)
    watcher.check_once()
    watcher.start()
    try:
        edited = before.replace("description:", "description: (edited)", 1)
        assert edited != before
        web.mapping_admin.save(name, edited, author="api:alice", comment="test")
        eventually(lambda: worker.mappings.text(name) == edited)

        (folder / f"{name}.yaml").write_text("name: personalization-json\nthis: [is broken\n")
        time.sleep(1.0)  # several rounds of the watcher
        assert worker.mappings.text(name) == edited  # the last good version keeps running
    finally:
        watcher.shutdown()


def test_watch_mappings_starts_a_watcher(migrated_engine: Engine, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    watcher = watch_mappings(gateway_on(migrated_engine, folder).mapping_admin)
    try:
        assert watcher._thread.is_alive()
    finally:
        watcher.shutdown()
