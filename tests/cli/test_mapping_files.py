"""``mapping save`` and ``mapping rollback`` as an admin runs them: the mapping file keeps its
mode (never the 0600 of a temporary file), and errors name the file, not the server's folder."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from gateway.cli import main
from tests.cli.conftest import REPO


@pytest.fixture
def mappings(sqlite_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    monkeypatch.setenv("CPEX_PATHS_MAPPINGS", str(folder))
    monkeypatch.setenv("CPEX_PSEUDONYM_SALT", "test-salt")
    assert main(["db", "upgrade"]) == 0
    return folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o664])
def test_save_and_rollback_keep_the_files_mode(
    mappings: Path, tmp_path: Path, mode: int, capsys: pytest.CaptureFixture[str]
) -> None:
    target = mappings / "cpex-in.yaml"
    os.chmod(target, mode)
    original = target.read_text()
    edited = tmp_path / "edited.yaml"
    edited.write_text(original.replace("description:", "# edited\ndescription:", 1))
    assert main(["mapping", "save", "cpex-in", str(edited)]) == 0, capsys.readouterr().err
    assert "# edited" in target.read_text()
    assert _mode(target) == mode
    assert main(["mapping", "rollback", "cpex-in", "1"]) == 0, capsys.readouterr().err
    assert target.read_text() == original
    assert _mode(target) == mode


def test_a_new_mapping_file_gets_the_umask_mode(mappings: Path, tmp_path: Path) -> None:
    text = (mappings / "cpex-in.yaml").read_text().replace("name: cpex-in", "name: cpex-copy", 1)
    source = tmp_path / "copy.yaml"
    source.write_text(text)
    old = os.umask(0o022)
    try:
        assert main(["mapping", "save", "cpex-copy", str(source)]) == 0
    finally:
        os.umask(old)
    assert _mode(mappings / "cpex-copy.yaml") == 0o644
