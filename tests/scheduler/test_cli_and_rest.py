"""``cpex-gateway jobs …`` / ``erp refresh`` and ``/api/v1/jobs``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.cli import main
from gateway.erp.demo import create_demo_erp, demo_erp_options
from gateway.store.migrate import upgrade
from tests.web.conftest import Api

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite CRM base, a demo ERP and an ERP config pointing at it."""
    db = tmp_path / "cli.db"
    erp = tmp_path / "erp.db"
    create_demo_erp(erp)
    options = demo_erp_options(erp)
    config = tmp_path / "erp.toml"
    config.write_text(
        f'version = 1\n[erp]\nurl = "{options["url"]}"\n'
        '[erp.customers]\ntable = "customers"\nkey = "customer_no"\nmodified = "modified_at"\n'
        'credit_status = "credit_status"\ncurrency = "currency"\n')
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("CPEX_ERP_CONFIG", str(config))
    upgrade(f"sqlite:///{db}")
    return tmp_path


def test_erp_refresh_and_jobs_commands(cli_env: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    assert main(["erp", "refresh", "--full"]) == 0
    assert "full: 40 read, 40 written" in capsys.readouterr().out
    assert main(["erp", "refresh"]) == 0
    assert "incremental: 0 read" in capsys.readouterr().out
    assert main(["jobs", "run", "erp-incremental"]) == 0
    assert "succeeded" in capsys.readouterr().out
    assert main(["jobs", "pause", "erp-incremental"]) == 0
    assert main(["jobs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "erp-incremental" in listing and "paused" in listing and "audit-purge" in listing
    assert main(["jobs", "resume", "erp-incremental"]) == 0
    assert main(["jobs", "run", "--queue", "erp-full"]) == 0
    capsys.readouterr()
    assert main(["jobs", "runs", "erp-full"]) == 0
    assert "queued" in capsys.readouterr().out
    assert main(["jobs", "runs", "nope"]) == 2
    assert "job 'nope' not found" in capsys.readouterr().err


def test_a_failing_cli_run_exits_1_with_the_error(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "erp.db").unlink()
    assert main(["jobs", "run", "erp-incremental"]) == 1
    assert "failed" in capsys.readouterr().out
    assert main(["erp", "refresh"]) == 2
    assert "connector erp" in capsys.readouterr().err


def test_jobs_api(api: Api, migrated_engine: Engine) -> None:
    admin = api.headers("admin")
    listed = api.client.get("/api/v1/jobs", headers=admin).json["items"]
    assert {"erp-incremental", "audit-purge"} <= {item["name"] for item in listed}
    queued = api.client.post("/api/v1/jobs/audit-purge/run", headers=admin)
    assert queued.status_code == 202 and queued.json["queued"]["status"] == "queued"
    runs = api.client.get("/api/v1/jobs/audit-purge/runs", headers=admin).json["items"]
    assert [r["status"] for r in runs] == ["queued"]
    assert api.client.post("/api/v1/jobs/audit-purge/pause", headers=admin).json["paused"]
    listed = {i["name"]: i for i in api.client.get("/api/v1/jobs", headers=admin).json["items"]}
    assert listed["audit-purge"]["paused"] is True
    assert listed["audit-purge"]["last_run"]["status"] == "queued"
    api.client.post("/api/v1/jobs/audit-purge/resume", headers=admin)
    missing = api.client.post("/api/v1/jobs/nope/run", headers=admin)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
