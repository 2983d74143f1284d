"""``--version`` and ``--json`` on every ``list`` command, driven through the CLI."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import click
import pytest

from gateway.cli import COMMANDS, cli, main
from tests.cli.conftest import REPO


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cpex-gateway {version('cpex-gateway')}"


def test_every_list_command_has_json() -> None:
    ctx = click.Context(cli)
    lists = []
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group) and "list" in command.commands:
            lists.append(name)
            options = {o for p in command.commands["list"].params for o in p.opts}
            assert "--json" in options, f"{name} list has no --json"
    assert sorted(lists) == ["deliveries", "erasure-requests", "jobs", "keys", "partners",
                             "quarantine", "review"]


def test_lists_as_json(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["import", str(REPO / "schemas/examples/valid-upsert-batch.xml")]) in (0, 1)
    assert main(["import", str(REPO / "schemas/examples/invalid-batch-one-bad-profile.xml")]) == 1
    assert main(["keys", "add", "ops", "--role", "monitor"]) == 0
    capsys.readouterr()

    def listed(*args: str) -> list[dict[str, object]]:
        assert main([*args, "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert isinstance(rows, list)
        return rows

    [key] = listed("keys", "list")
    assert (key["name"], key["role"], key["status"]) == ("ops", "monitor", "active")
    assert "token" not in key and "hash" not in json.dumps(key)
    assert {p["id"] for p in listed("partners", "list")} == {"acme", "globex", "persona"}
    assert listed("erasure-requests", "list") == []
    quarantined = listed("quarantine", "list")
    assert quarantined and all(q["status"] == "open" for q in quarantined)
    assert listed("review", "list") == []
    assert listed("deliveries", "list") == []
    jobs = listed("jobs", "list")
    assert "outbox-dispatch" in {j["name"] for j in jobs}
