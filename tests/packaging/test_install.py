"""A wheel installed into a fresh virtual environment works outside the checkout.

Builds the wheel from a copy of the source tree, installs it (dependencies from the configured
package index or cache) and, from an empty folder with no ``CPEX_*`` variables, checks that
every module imports with only the declared dependencies, that ``validate`` finds the shipped
schemas, and that ``init`` writes a deployment folder that ``--home`` migrates and imports into.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "build", "var", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
IMPORT_ALL = """
import importlib, pkgutil, sys
import gateway, connectors, scheduler
names = []
for package in (gateway, connectors, scheduler):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" in info.name:
            continue  # Alembic scripts run inside Alembic, not imported
        importlib.import_module(info.name)
        names.append(info.name)
print(len(names), "modules from", gateway.__file__)
"""


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("install")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CPEX_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=SKIP)
    wheels = tmp / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        tmp,
        env,
    )
    [wheel] = wheels.glob("cpex_gateway-*.whl")
    target = tmp / "venv"
    venv.create(target, with_pip=True)
    run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        tmp,
        env,
        timeout=900,
    )
    return target, env


def test_the_wheel_works_outside_the_checkout(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    target, env = installed
    bin_dir = target / "bin"
    cli = str(bin_dir / "cpex-gateway")
    modules = run([str(bin_dir / "python"), "-c", IMPORT_ALL], tmp_path, env)
    assert str(target) in modules and int(modules.split()[0]) > 50, modules

    assert run([cli, "--version"], tmp_path, env).startswith("cpex-gateway ")
    sample = tmp_path / "profile.xml"
    shutil.copy(REPO / "schemas" / "examples" / "valid-person-full.xml", sample)
    assert "ok    profile.xml" in run([cli, "validate", "profile.xml"], tmp_path, env)

    init = run([cli, "init", "site"], tmp_path, env)
    home = tmp_path / "site"
    assert f"CPEX_HOME={home}" in init
    assert {p.name for p in home.iterdir()} == {"config", "mappings", "var"}
    assert (home / "config" / "gateway.toml").is_file()
    assert (home / "config" / "partners" / "acme.toml").is_file()
    assert run([cli, "--home", "site", "db", "upgrade"], tmp_path, env)
    batch = tmp_path / "batch.xml"
    shutil.copy(REPO / "schemas" / "examples" / "demo-batch.xml", batch)
    imported = run(
        [cli, "--home", "site", "import", "batch.xml"],
        tmp_path,
        {**env, "CPEX_HOME": "elsewhere-ignored"},
    )
    assert "25 records: 25 created" in imported
    assert (home / "var" / "cpex.db").is_file()
    listed = run([cli, "jobs", "list", "--json"], tmp_path, {**env, "CPEX_HOME": str(home)})
    assert '"outbox-dispatch"' in listed
    # Nothing was written beside the files this test put there (no var/ in the working folder).
    assert {p.name for p in tmp_path.iterdir()} == {"profile.xml", "batch.xml", "site"}

    again = subprocess.run(
        [cli, "init", "site"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 2 and "already holds config/, mappings/" in again.stderr
