"""Job history of ERP refreshes, driven through the CLI as an operator would: per-table reads,
written, skipped unchanged, rejected and marked-deleted counts; refreshes asked for with
``erp refresh`` recorded like scheduled ones; ``jobs list`` without a jobs file says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.cli import main
from scheduler.history import JobHistory
from tests.scheduler.test_cli_and_rest import cli_env  # noqa: F401  (migrated CRM + demo ERP)


def _history(cli_env: Path) -> JobHistory:  # noqa: F811
    return JobHistory(create_engine(f"sqlite:///{cli_env / 'cli.db'}"))


def test_cli_refreshes_are_in_the_run_history_with_every_count(
        cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["erp", "refresh", "--full"]) == 0
    said = capsys.readouterr().out
    assert "full: 40 read, 40 written" in said and "run #" in said and "of erp-full" in said
    assert main(["erp", "refresh", "--full"]) == 0  # nothing changed in the ERP
    capsys.readouterr()
    assert main(["jobs", "runs", "erp-full"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "manual" in lines[0] and "succeeded" in lines[0]
    assert ("read 40 (customers 40), written 40, skipped 40 unchanged, rejected 0, "
            "marked deleted 0") in lines[0]
    assert "skipped 0 unchanged" in lines[1]

    erp = create_engine(f"sqlite:///{cli_env / 'erp.db'}")
    with erp.begin() as conn:
        gone = conn.execute(text("SELECT customer_no FROM customers ORDER BY customer_no DESC "
                                 "LIMIT 1")).scalar()
        conn.execute(text("DELETE FROM invoices WHERE customer_no = :k"), {"k": gone})
        conn.execute(text("DELETE FROM orders WHERE customer_no = :k"), {"k": gone})
        conn.execute(text("DELETE FROM customers WHERE customer_no = :k"), {"k": gone})
        conn.execute(text("UPDATE customers SET credit_status = 'HOLD', modified_at = "
                          "'2031-01-01 00:00:00' WHERE customer_no IN (SELECT min(customer_no) "
                          "FROM customers)"))
    erp.dispose()
    assert main(["erp", "refresh", "--reconcile"]) == 0
    assert main(["erp", "refresh"]) == 0
    capsys.readouterr()
    runs = _history(cli_env).runs(limit=10)
    by_job = {run.job: run for run in reversed(runs)}  # newest of each job
    assert by_job["erp-reconcile"].rows_deleted == 1
    assert by_job["erp-reconcile"].rows_by_table == {"customers (keys)": 39}
    incremental = by_job["erp-incremental"]
    assert (incremental.trigger, incremental.status) == ("manual", "succeeded")
    assert incremental.rows_by_table == {"customers": 1}
    assert incremental.rows_written == 1 and incremental.rows_skipped == 0
    assert incremental.to_dict()["rows_by_table"] == {"customers": 1}


def test_a_failed_cli_refresh_is_recorded_failed(
        cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    (cli_env / "erp.db").unlink()
    assert main(["erp", "refresh"]) == 2
    assert "connector erp" in capsys.readouterr().err
    (run,) = _history(cli_env).runs("erp-incremental")
    assert run.status == "failed" and run.trigger == "manual"
    assert run.error is not None and "ConnectorError" in run.error


def test_jobs_list_without_a_jobs_file_says_so(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    missing = cli_env / "no-jobs.toml"
    monkeypatch.setenv("CPEX_JOBS_CONFIG", str(missing))
    assert main(["jobs", "list"]) == 0
    told = capsys.readouterr()
    assert told.out == ""
    assert "no jobs configured" in told.err and str(missing) in told.err
    # erp refresh still records its run, under erp-<mode>
    assert main(["erp", "refresh", "--full"]) == 0
    assert "of erp-full" in capsys.readouterr().out
    assert main(["jobs", "runs", "erp-full"]) == 0
    assert "manual" in capsys.readouterr().out
