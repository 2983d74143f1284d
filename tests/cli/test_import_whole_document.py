"""``cpex-gateway import`` checks the whole file before it stores a record: XInclude, an unknown
element outside the records, broken XML after the last record or a DOCTYPE deep in the prolog
are refused (exit 2, the place named) with nothing stored, on SQLite and PostgreSQL. An invalid
record is still quarantined alone while the others are imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.cli import main
from gateway.pipeline.tables import inbound_message
from gateway.store.engine import make_engine
from gateway.store.profiles import ProfileStore
from tests.cli.conftest import REPO
from tests.xml.attack_corpus import LONG_COMMENT

DEMO = (REPO / "schemas" / "examples" / "demo-batch.xml").read_text()
XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'

#: name -> (the demo batch changed, what the error line says)
BROKEN = {
    "unknown-element-after-the-batch": (
        DEMO.replace("</ex:Batch>", "</ex:Batch>\n    <ex:Extra>payload</ex:Extra>"),
        "Extra",
    ),
    "unknown-element-in-the-header": (
        DEMO.replace("</ex:Header>", "  <ex:Note>hello</ex:Note>\n  </ex:Header>"),
        "Note",
    ),
    "xinclude-outside-the-records": (
        DEMO.replace(
            "</ex:Header>", f'<xi:include {XI} href="/etc/passwd" parse="text"/></ex:Header>'
        ),
        "XInclude",
    ),
    "broken-xml-after-the-last-record": (
        DEMO.replace("</ex:Envelope>", "</ex:Envelop>"),
        "Envelop",
    ),
    "doctype-after-a-long-comment": (
        LONG_COMMENT
        + '<!DOCTYPE ex:Envelope [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]>\n'
        + DEMO.partition("?>")[2],
        "a DOCTYPE is not allowed",
    ),
}


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The commands on this test's database (SQLite file or PostgreSQL schema), migrated."""
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", db_url)
    assert main(["db", "upgrade"]) == 0
    return make_engine(db_url)


def inbound_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbound_message)).scalar_one())


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_file_unsound_outside_its_records_is_refused_with_nothing_stored(
    name: str, cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, cause = BROKEN[name]
    path = tmp_path / f"{name}.xml"
    path.write_text(document)
    try:
        assert main(["import", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}"), err
        assert cause in err and "Traceback" not in err
        assert ProfileStore(cli_db).count() == 0
        assert inbound_rows(cli_db) == 0
    finally:
        cli_db.dispose()


def test_the_sound_demo_batch_is_still_imported(
    cli_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.xml"
    path.write_text(DEMO)
    try:
        assert main(["import", str(path)]) == 0
        assert "25 records: 25 created" in capsys.readouterr().out
        assert ProfileStore(cli_db).count() == 25
    finally:
        cli_db.dispose()
