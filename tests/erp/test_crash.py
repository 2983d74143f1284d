"""kill -9 in the middle of a refresh, in a real child process, then a new run: the snapshot
equals the ERP (nothing lost, nothing counted twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from gateway.erp.demo import create_demo_erp
from gateway.erp.snapshot import SnapshotStore
from tests.erp.conftest import erp_settings, expected_from_erp, make_refresher, snapshot_as_erp

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gateway.erp.refresh import ColumnSummaryMapper, ErpRefresher
    from gateway.store.engine import make_engine
    from tests.erp.conftest import erp_settings

    db_url, erp_path = sys.argv[1], Path(sys.argv[2])
    erp = erp_settings(erp_path, batch_size=5, round_size=5)
    plain = ColumnSummaryMapper(erp.credit_codes)

    def slow(record, as_of):  # slow enough for the parent to kill us mid-way
        time.sleep(0.01)
        return plain(record, as_of)

    ErpRefresher(make_engine(db_url), erp.open(), slow).incremental()
    print("finished", flush=True)
""")


def test_kill_9_mid_refresh_then_a_new_run_matches_the_erp(
        db_url: str, migrated_engine: Engine, tmp_path: Path) -> None:
    erp_path = tmp_path / "erp.db"
    create_demo_erp(erp_path, extra_customers=200)
    first = make_refresher(migrated_engine, erp_settings(erp_path))
    first.full()
    first.source.close()
    # A busy ERP day: every order and every customer changes, in one second.
    erp = create_engine(f"sqlite:///{erp_path}")
    with erp.begin() as conn:
        conn.execute(text("UPDATE orders SET total = total + 1, "
                          "modified_at = '2030-01-01 00:00:00.000000'"))
        conn.execute(text("UPDATE customers SET credit_status = 'WATCH', "
                          "modified_at = '2030-01-01 00:00:00.000000'"))
    erp.dispose()
    before = SnapshotStore(migrated_engine, "erp").cursors()

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(erp_path)],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for some batches to be committed
            if SnapshotStore(migrated_engine, "erp").cursors() != before:
                time.sleep(0.3)
                break
            assert child.poll() is None, child.communicate()
            time.sleep(0.05)
        else:
            raise AssertionError("the child committed nothing within 60 s")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None and child.stderr is not None
        out, err = child.stdout.read(), child.stderr.read()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, (out, err)
    assert "finished" not in out
    assert snapshot_as_erp(migrated_engine) != expected_from_erp(erp_path)  # really mid-way

    again = make_refresher(migrated_engine, erp_settings(erp_path))
    again.incremental()
    again.source.close()
    assert snapshot_as_erp(migrated_engine) == expected_from_erp(erp_path)
