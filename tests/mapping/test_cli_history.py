"""``mapping save|history|show|rollback`` from the command line, on a copy of mappings/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.cli import main
from tests.mapping.conftest import REPO


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", copy)
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CPEX_PATHS_MAPPINGS", f'"{copy}"')
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    assert main(["db", "upgrade"]) == 0
    return copy


def test_save_history_show_rollback(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = (folder / "acme-in.yaml").read_text()
    edited = tmp_path / "acme-in.edited.yaml"
    edited.write_text("# reviewed\n" + original)
    assert main(["mapping", "save", "acme-in", str(edited), "--comment", "reviewed"]) == 0
    assert "acme-in: saved as v2" in capsys.readouterr().out
    assert (folder / "acme-in.yaml").read_text().startswith("# reviewed\n")

    assert main(["mapping", "history", "acme-in"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("v2") and "reviewed" in lines[0] and "cli:" in lines[0]
    assert lines[1].startswith("v1") and "file" in lines[1]

    assert main(["mapping", "show", "acme-in", "2", "--diff"]) == 0
    assert "+# reviewed" in capsys.readouterr().out

    assert main(["mapping", "rollback", "acme-in", "1"]) == 0
    assert "v1 restored as v3" in capsys.readouterr().out
    assert (folder / "acme-in.yaml").read_text() == original


def test_an_invalid_file_is_not_saved(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = (folder / "acme-in.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(original.replace("version: 1", "version: 1\nbogus_key: 3", 1))
    assert main(["mapping", "save", "acme-in", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bogus_key" in err and ":" in err
    assert (folder / "acme-in.yaml").read_text() == original
