"""``import`` with quarantine and review commands as an operator uses them (SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from tests.pipeline.conftest import REPO, envelope, profile


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    return tmp_path


def test_import_then_quarantine_and_review(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = cli_db / "batch.xml"
    batch.write_text(envelope([profile("1", "Smith"), profile("2", "Jones", country="x")]))
    capsys.readouterr()
    assert main(["import", str(batch), "--mapping", "cpex-in"]) == 1
    out, err = capsys.readouterr()
    assert "2 records: 1 created, 0 updated, 0 unchanged, 1 rejected, 0 merged, 0 review" in out
    assert "rejected record 2 (line 3): refused at the validate stage" in err
    assert "\r" not in err  # not a terminal: no progress line

    assert main(["quarantine", "list"]) == 0
    line = capsys.readouterr().out.strip()
    entry_id = line.split("\t")[0]
    assert "\tvalidate\tschema_invalid\t" in line
    assert main(["quarantine", "show", entry_id]) == 0
    assert 'key="2"' in json.loads(capsys.readouterr().out)["raw"]
    assert main(["quarantine", "retry", entry_id]) == 1
    assert "refused again at the validate stage" in capsys.readouterr().err
    assert main(["quarantine", "discard", entry_id]) == 0
    assert main(["quarantine", "list"]) == 0
    assert "no open entries" in capsys.readouterr().out
    assert main(["review", "list"]) == 0
    assert "no open review items" in capsys.readouterr().out
    assert main(["review", "approve", "42"]) == 2
    assert "review item '42' not found" in capsys.readouterr().err
