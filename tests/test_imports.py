"""The import contracts of pyproject.toml hold (``lint-imports``): the identity rules and the
match model import no database, pipeline or entry-point code."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_pure_identity_module_is_under_contract() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (pure,) = [c for c in config["contracts"] if c["type"] == "forbidden"]
    on_a_connection = {"golden", "review", "__init__"}
    modules = {
        f"gateway.identity.{p.stem}"
        for p in (REPO / "gateway" / "identity").glob("*.py")
        if p.stem not in on_a_connection
    }
    assert modules == set(pure["source_modules"])
    assert {"gateway.store", "sqlalchemy"} <= set(pure["forbidden_modules"])
