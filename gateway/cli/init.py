"""``cpex-gateway init DIR``: a starting deployment folder (its home).

Writes ``DIR/config/`` (settings, jobs, ERP and the sample partner files, each with its
reference README) and ``DIR/mappings/`` as the gateway ships them, and an empty ``DIR/var/``.
Schemas are read from the installed gateway unless the home gets a ``schemas/`` folder of its
own. Nothing is overwritten: a folder that already holds a deployment is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from gateway.bundled import BundledName, bundled_dir
from gateway.errors import ConfigError

COPIED: tuple[BundledName, ...] = ("config", "mappings")


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def init_command(folder: Path) -> None:
    """Write a starting deployment folder FOLDER (config/, mappings/, var/) to edit and run
    with --home FOLDER or CPEX_HOME=FOLDER."""
    taken = [name for name in COPIED if (folder / name).exists()]
    if taken:
        raise ConfigError(
            f"already holds {', '.join(n + '/' for n in taken)}: nothing was written "
            "(edit it, or choose an empty folder)",
            file=str(folder),
        )
    folder.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in COPIED:
        shutil.copytree(bundled_dir(name), folder / name, ignore=skip)
    (folder / "var").mkdir(exist_ok=True)
    home = folder.resolve()
    click.echo(
        f"deployment folder {home}: config/ (settings, jobs, ERP, partners), mappings/, var/"
    )
    click.echo(f"next:  export CPEX_HOME={home}")
    click.echo("       cpex-gateway db upgrade && cpex-gateway serve")
