"""Fixtures for formats other systems emit: a gateway on the repository's config, mappings and
schemas (with its declared attributes), its web app with an admin key, and a file-drop poller."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.web import create_app
from scheduler.filedrop import poll_inbox
from scheduler.kinds import FileDropArgs, JobContext, JobOutcome

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "mappings" / "samples"


@dataclass
class Hub:
    gateway: Gateway
    client: FlaskClient
    admin: dict[str, str]
    tmp: Path

    def drop(
        self, sample: Path, *, mapping: str, source: str, name: str | None = None
    ) -> JobOutcome:
        """Drop a file into an inbox (with its marker) and run one poll of the file-drop job."""
        inbox = self.tmp / "inbox"
        inbox.mkdir(exist_ok=True)
        target = inbox / (name or sample.name)
        target.write_bytes(sample.read_bytes())
        target.with_name(target.name + ".done").touch()
        ctx = JobContext(
            self.gateway,
            "partner-drop",
            FileDropArgs(inbox=str(inbox), mapping=mapping, source_system=source),
        )
        return poll_inbox(ctx)


@pytest.fixture
def hub(migrated_engine: Engine, tmp_path: Path) -> Iterator[Hub]:
    settings = load_settings(
        REPO / "config" / "gateway.toml",
        environ={},
        overrides={
            "database.url": str(migrated_engine.url),
            "paths.var": str(tmp_path / "var"),
            "paths.mappings": str(REPO / "mappings"),
            "paths.schemas": str(REPO / "schemas"),
        },
    )
    settings = settings.model_copy(update={"base_dir": str(tmp_path)})
    gateway = Gateway(settings, _engine=migrated_engine)
    token = CredentialStore(migrated_engine).issue("ops", Role.ADMIN).token
    app = create_app(gateway=gateway)
    yield Hub(gateway, app.test_client(), {"Authorization": f"Bearer {token}"}, tmp_path)
