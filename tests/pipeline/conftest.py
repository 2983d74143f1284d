"""Pipeline fixtures: a gateway on the test's migrated database (SQLite and PostgreSQL), and
small CPEX batches written to files."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, func, select

from gateway.config import load_settings
from gateway.pipeline.tables import inbound_message, outbox_event, quarantine_record
from gateway.runtime import Gateway
from gateway.store.tables import golden_profile, source_record

REPO = Path(__file__).resolve().parents[2]
NS = 'xmlns:ex="urn:cpex:exchange:1.0" xmlns:cpex="urn:cpex:profile:1.0"'


@pytest.fixture
def gateway(migrated_engine: Engine) -> Iterator[Gateway]:
    settings = load_settings(
        REPO / "config" / "gateway.toml",
        environ={},
        overrides={"database.url": str(migrated_engine.url)},
    )
    yield Gateway(settings, _engine=migrated_engine)


def profile(key: str, family: str, *, country: str = "GB", email: str | None = None,
            system: str = "shop") -> str:
    mail = f"<cpex:Emails><cpex:Email>{email}</cpex:Email></cpex:Emails>" if email else ""
    return (
        f'<cpex:Profile><cpex:Identifiers><cpex:Identifier system="{system}" key="{key}"/>'
        f"</cpex:Identifiers><cpex:Person><cpex:GivenName>Ann</cpex:GivenName>"
        f"<cpex:FamilyName>{family}</cpex:FamilyName></cpex:Person>"
        f'<cpex:Addresses><cpex:Address type="home"><cpex:City>Leeds</cpex:City>'
        f"<cpex:Country>{country}</cpex:Country></cpex:Address></cpex:Addresses>{mail}"
        "</cpex:Profile>\n"
    )


def envelope(records: list[str], *, message_id: str | None = "m-1", sender: str = "shop") -> str:
    header = (
        f"<ex:Header><ex:MessageId>{message_id}</ex:MessageId><ex:Sender>{sender}</ex:Sender>"
        "<ex:Recipient>gateway</ex:Recipient><ex:Timestamp>2024-11-01T03:00:00Z</ex:Timestamp>"
        "<ex:Operation>upsert</ex:Operation></ex:Header>"
        if message_id
        else ""
    )
    return (
        f"<ex:Envelope {NS}>{header}<ex:Body><ex:Batch>\n"
        + "".join(records)
        + "</ex:Batch></ex:Body></ex:Envelope>\n"
    )


def counts(engine: Engine) -> dict[str, int]:
    """Rows of the tables a batch writes."""
    tables = {
        "golden": golden_profile,
        "records": source_record,
        "events": outbox_event,
        "quarantine": quarantine_record,
        "messages": inbound_message,
    }
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for name, t in tables.items()
        }


def load_generator() -> ModuleType:
    """``bench/generate_batch.py`` (bench/ is not a package)."""
    if "generate_batch" in sys.modules:
        return sys.modules["generate_batch"]
    path = REPO / "bench" / "generate_batch.py"
    spec = importlib.util.spec_from_file_location("generate_batch", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules["generate_batch"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
