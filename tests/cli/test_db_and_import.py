"""``db upgrade``, ``import`` and ``serve`` as an operator uses them, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gateway.cli import main
from gateway.store.profiles import ProfileStore
from tests.cli.conftest import REPO

DEMO = REPO / "schemas" / "examples" / "demo-batch.xml"
NS = "urn:cpex:profile:1.0"


def stored_count(db: Path) -> int:
    engine = create_engine(f"sqlite:///{db}")
    try:
        return ProfileStore(engine).count()
    finally:
        engine.dispose()


def test_commands_refuse_an_unmigrated_database(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(DEMO)]) == 2
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert all(line.startswith("error: database schema is at revision none") for line in err)
    assert all("run 'cpex-gateway db upgrade'" in line for line in err)


def test_debug_shows_the_traceback(sqlite_env: Path) -> None:
    from gateway.errors import SchemaOutOfDateError

    with pytest.raises(SchemaOutOfDateError):
        main(["--debug", "import", str(DEMO)])


def test_upgrade_then_import_then_reimport(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "current"]) == 1
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    out = capsys.readouterr().out
    assert "upgraded from empty to" in out and "already at revision" in out

    assert main(["import", str(DEMO)]) == 0
    first = capsys.readouterr().out
    total = stored_count(sqlite_env)
    assert total >= 20
    assert f"{total} created, 0 updated, 0 unchanged, 0 rejected" in first

    assert main(["import", str(DEMO), "--source", "erp"]) == 0  # same message id: replayed
    replay = capsys.readouterr().out
    assert "message demo-batch-0001 was imported before" in replay
    assert f"{total} created, 0 updated, 0 unchanged, 0 rejected" in replay
    assert main(["import", str(DEMO), "--source", "erp", "--reprocess"]) == 0
    assert f"0 created, 0 updated, {total} unchanged, 0 rejected" in capsys.readouterr().out
    assert stored_count(sqlite_env) == total


def test_import_stores_valid_records_and_names_rejected_ones(
    sqlite_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def profile(key: str, country: str) -> str:
        return (
            f'<cpex:Profile><cpex:Identifiers><cpex:Identifier system="shop" key="{key}"/>'
            f"</cpex:Identifiers><cpex:Person><cpex:FamilyName>Name{key}</cpex:FamilyName>"
            f"</cpex:Person><cpex:Addresses><cpex:Address type=\"home\"><cpex:City>Lyon</cpex:City>"
            f"<cpex:Country>{country}</cpex:Country></cpex:Address></cpex:Addresses></cpex:Profile>\n"
        )

    batch = tmp_path / "batch.xml"
    batch.write_text(
        f'<x:Envelope xmlns:x="urn:cpex:exchange:1.0" xmlns:cpex="{NS}">\n'
        + profile("1", "FR")
        + profile("2", "France")
        + profile("3", "DE")
        + "</x:Envelope>\n"
    )
    assert main(["db", "upgrade"]) == 0
    assert main(["import", str(batch), "--source", "shop"]) == 1
    captured = capsys.readouterr()
    assert "3 records: 2 created, 0 updated, 0 unchanged, 1 rejected" in captured.out
    assert "rejected record 2 (line 3):" in captured.err
    assert "Country" in captured.err
    assert stored_count(sqlite_env) == 2


def test_import_of_an_attack_stores_nothing(
    sqlite_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attack = tmp_path / "xxe.xml"
    attack.write_text(
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f'<x:Envelope xmlns:x="urn:cpex:exchange:1.0"><cpex:Profile xmlns:cpex="{NS}"/>'
        "</x:Envelope>"
    )
    assert main(["db", "upgrade"]) == 0
    assert main(["import", str(attack)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {attack}, line 1: a DOCTYPE is not allowed")
    assert "Traceback" not in err
    assert stored_count(sqlite_env) == 0
