"""``cpex-gateway validate``: valid samples pass, invalid ones fail with line numbers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from tests.cli.conftest import REPO

EXAMPLES = REPO / "schemas" / "examples"
VALID = [*sorted(EXAMPLES.glob("valid-*.xml")), EXAMPLES / "demo-batch.xml"]
INVALID = sorted(EXAMPLES.glob("invalid-*.xml"))


def test_samples_exist() -> None:
    assert len(VALID) >= 6 and len(INVALID) >= 6


def test_valid_samples_pass(capsys: pytest.CaptureFixture[str], sqlite_env: object) -> None:
    assert main(["validate", *map(str, VALID)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(VALID)
    assert all(line.startswith("ok ") for line in out)


@pytest.mark.parametrize("sample", INVALID, ids=lambda p: p.name)
def test_invalid_sample_fails_with_line(
    sample: object, capsys: pytest.CaptureFixture[str], sqlite_env: object
) -> None:
    assert main(["validate", str(sample)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAIL  {sample}")
    assert re.search(rf"{re.escape(str(sample))}:line \d+", out), out


def test_json_report(capsys: pytest.CaptureFixture[str], sqlite_env: object) -> None:
    assert main(["validate", "--json", str(VALID[0]), str(INVALID[0])]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in report] == [True, False]
    first_error = report[1]["errors"][0]
    assert isinstance(first_error["line"], int) and first_error["message"]


def test_attack_document_is_reported_not_raised(
    tmp_path: object, capsys: pytest.CaptureFixture[str], sqlite_env: object
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "xxe.xml"
    path.write_text('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "xml_forbidden: a DOCTYPE is not allowed" in out
    assert "root:" not in out


def test_doctype_on_dev_zero_after_a_long_comment_does_not_hang(tmp_path: Path) -> None:
    """The real command, in its own process: reading /dev/zero would never end (the timeout
    is the deadline), and the DOCTYPE past any fixed scan window is refused by name."""
    path = tmp_path / "zero.xml"
    path.write_text(
        "<!--" + "c" * 70_000 + '-->\n<!DOCTYPE a [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]>'
        "<a/>"
    )
    done = subprocess.run(
        [str(Path(sys.executable).with_name("cpex-gateway")), "validate", str(path)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "CPEX_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"},
    )
    assert done.returncode == 1, done.stderr
    assert f"{path}:line 2: xml_forbidden: a DOCTYPE is not allowed" in done.stdout
