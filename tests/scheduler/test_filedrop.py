"""File drop: only complete files are taken, each goes to archive/ or failed/ with a report, and
the same name + content is never imported twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gateway.runtime import Gateway
from gateway.store.profiles import ProfileStore
from scheduler.filedrop import poll_inbox
from scheduler.kinds import FileDropArgs, JobContext

REPO = Path(__file__).resolve().parents[2]
BATCH = REPO / "schemas" / "examples" / "demo-batch.xml"


def poll(gateway: Gateway, inbox: Path, complete: str = "marker") -> tuple[int, int, int]:
    ctx = JobContext(gateway, "erp-drop", FileDropArgs(inbox=str(inbox), complete=complete))
    outcome = poll_inbox(ctx)
    return outcome.rows_read, outcome.rows_written, outcome.rows_rejected


def reports(folder: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.report.json"))]


def test_marker_archive_failed_and_no_second_import(gateway: Gateway, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(BATCH, inbox / "batch.xml")
    assert poll(gateway, inbox) == (0, 0, 0)  # no marker yet: still being written
    assert (inbox / "batch.xml").exists()
    (inbox / "batch.xml.done").touch()
    assert poll(gateway, inbox) == (25, 25, 0)
    assert not (inbox / "batch.xml").exists() and not (inbox / "batch.xml.done").exists()
    [archived] = reports(inbox / "archive")
    assert archived["status"] == "archived" and archived["records"] == 25
    assert ProfileStore(gateway.engine).count() == 25

    shutil.copy(BATCH, inbox / "batch.xml")  # the same file dropped again
    (inbox / "batch.xml.done").touch()
    assert poll(gateway, inbox) == (0, 0, 0)
    statuses = sorted(str(r["status"]) for r in reports(inbox / "archive"))
    assert statuses == ["archived", "duplicate"]

    (inbox / "broken.xml").write_text("<not-closed>")
    (inbox / "broken.xml.done").touch()
    assert poll(gateway, inbox) == (0, 0, 1)  # the unreadable file shows as rejected
    [failed] = reports(inbox / "failed")
    assert failed["status"] == "failed" and failed["errors"]
    assert len(list((inbox / "failed").glob("*_broken.xml"))) == 1


def test_a_failed_file_can_be_dropped_again_once_fixed(gateway: Gateway, tmp_path: Path) -> None:
    """The same bytes that failed (here: a CSV file and no mapping in the job's args; an
    envelope without its Sender no longer serves, since import validates the whole envelope
    and the XSD requires one) are processed again when dropped after the cause is fixed."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = (REPO / "mappings" / "samples" / "erp-customers.csv").read_text()
    (inbox / "customers.csv").write_text(rows)
    (inbox / "customers.csv.done").touch()
    assert poll(gateway, inbox) == (0, 0, 1)
    [failed] = reports(inbox / "failed")
    assert "a CSV or JSON file needs a mapping" in str(failed["errors"])

    (inbox / "customers.csv").write_text(rows)  # dropped again with the job fixed
    (inbox / "customers.csv.done").touch()
    ctx = JobContext(
        gateway,
        "erp-drop",
        FileDropArgs(inbox=str(inbox), mapping="erp-customers-csv.yaml", source_system="erp"),
    )
    outcome = poll_inbox(ctx)
    assert outcome.rows_read == len(rows.splitlines()) - 1 > 0
    assert outcome.rows_written > 0
    assert ProfileStore(gateway.engine).count() > 0


def test_rename_mode_ignores_temporary_names(gateway: Gateway, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(BATCH, inbox / "batch.xml.part")
    shutil.copy(BATCH, inbox / ".batch2.xml")
    assert poll(gateway, inbox, "rename") == (0, 0, 0)
    (inbox / "batch.xml.part").rename(inbox / "batch.xml")
    assert poll(gateway, inbox, "rename") == (25, 25, 0)
    assert (inbox / ".batch2.xml").exists()


def test_csv_rows_walk_the_pipeline(gateway: Gateway, tmp_path: Path) -> None:
    """CSV rows are mapped, stored with outbox events (partners hear of them), and a bad row is
    quarantined as a row that can be retried with the current mapping."""
    from sqlalchemy import func, select

    from gateway.pipeline.quarantine import Quarantine
    from gateway.pipeline.tables import outbox_event

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = (REPO / "mappings" / "samples" / "erp-customers.csv").read_text().splitlines()
    bad = lines[1].replace("23.04.1979", "31.02.1979")  # no such day: the date transform fails
    (inbox / "customers.csv").write_text("\n".join([lines[0], *lines[2:], bad]) + "\n")
    (inbox / "customers.csv.done").touch()
    ctx = JobContext(
        gateway,
        "erp-drop",
        FileDropArgs(inbox=str(inbox), mapping="erp-customers-csv.yaml", source_system="erp"),
    )
    outcome = poll_inbox(ctx)
    good = len(lines) - 2
    assert (outcome.rows_read, outcome.rows_written, outcome.rows_rejected) == (good + 1, good, 1)
    with gateway.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(outbox_event)).scalar_one()
    assert events == good  # every stored row announced, as from any other source
    [failed] = reports(inbox / "failed")
    [row_error] = failed["errors"]
    assert row_error["line"] == good + 2  # the file's line (after the header)
    entry = Quarantine(gateway).get(int(row_error["quarantine_id"]))
    assert (entry.format, entry.stage, entry.source_system) == ("row", "map", "erp")
    again = Quarantine(gateway).retry(entry.id)  # the mapping is unchanged: refused again
    assert again.status == "rejected" and Quarantine(gateway).get(entry.id).status == "open"
