"""The ``file_drop_poll`` job: take each complete file from an inbox once, import it as one unit.

The ledger (``dropped_file``, unique on inbox + name + content hash) is written *before* the file
is processed: a second copy of a file already imported is moved to ``archive/`` with a report
saying so, and never imported again. A file whose ledger row is still ``processing`` was
interrupted by a crash, and one that went to ``failed/`` may be dropped again once its cause is
fixed (a mapping, the job's args): both are processed again (imports are idempotent: unchanged
records write nothing).

One unit means one report and one destination per file: ``archive/`` when every record was
stored, ``failed/`` when the file could not be read or any record was rejected (the report lists
each one with its line and reason; the records that were valid are stored).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.base import DroppedFile, FileInbox, connector_class
from gateway.errors import GatewayError
from gateway.importer import ImportSourceError, import_batch
from gateway.pipeline.files import import_file
from gateway.pipeline.outcome import BatchReport
from gateway.pipeline.runner import Batch, Pipeline
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import dropped_file
from scheduler.kinds import JobContext, JobOutcome

log = logging.getLogger(__name__)


def poll_inbox(ctx: JobContext) -> JobOutcome:
    """Process every complete file now in the job's inbox; the totals over all files."""
    folder = Path(ctx.args.inbox)
    folder = folder if folder.is_absolute() else Path(ctx.gateway.settings.base_dir) / folder
    inbox: FileInbox = connector_class("erp_files")(ctx.job, folder, complete=ctx.args.complete)
    read = written = rejected = files = 0
    for dropped in inbox.ready():
        ledger_id = _take(ctx, dropped)
        if ledger_id is None:
            inbox.archive(dropped, {"file": dropped.name, "sha256": dropped.content_hash,
                                    "status": "duplicate",
                                    "reason": "same name and content already processed"})
            continue
        files += 1
        report = _process(ctx, dropped)
        read += report["records"]
        written += report["stored"]
        # a file that could not be read at all counts as one rejected unit, so the run shows it
        rejected += report["rejected"] or (report["status"] == "failed")
        ok = report["status"] == "archived"
        moved = inbox.archive(dropped, report) if ok else inbox.fail(dropped, report)
        _settle(ctx, ledger_id, report, moved)
    return JobOutcome(read, written, rejected, f"{files} files")


def _take(ctx: JobContext, dropped: DroppedFile) -> int | None:
    """The ledger row for this file, or ``None`` if this name + content was done before."""
    d = dropped_file.c
    engine = ctx.gateway.engine
    try:
        with write_transaction(engine) as conn:
            found = conn.execute(select(d.id, d.status).where(
                d.inbox == ctx.job, d.name == dropped.name,
                d.content_hash == dropped.content_hash)).first()
            if found is not None:
                if found.status == "archived":
                    return None
                conn.execute(update(dropped_file).where(d.id == found.id).values(
                    status="processing", received_at=datetime.now(UTC), finished_at=None))
                return int(found.id)
            key = conn.execute(insert(dropped_file).values(
                inbox=ctx.job, name=dropped.name, content_hash=dropped.content_hash,
                size=dropped.size, status="processing", received_at=datetime.now(UTC),
            )).inserted_primary_key
            assert key is not None
            return int(key[0])
    except IntegrityError:
        return None
    except SQLAlchemyError as exc:
        raise store_error(f"recording dropped file {dropped.name}", exc) from exc


def _process(ctx: JobContext, dropped: DroppedFile) -> dict[str, Any]:
    report: dict[str, Any] = {"file": dropped.name, "sha256": dropped.content_hash,
                              "size": dropped.size, "records": 0, "stored": 0, "rejected": 0,
                              "errors": []}
    try:
        if dropped.name.lower().endswith(".xml") and not ctx.args.mapping:
            result = import_batch(ctx.gateway, dropped.path, source_system=ctx.args.source_system)
            _count(report, result)
        else:
            _import_mapped(ctx, dropped, report)
    except ImportSourceError:
        report["errors"].append({"file": "no source system: the envelope header has no Sender; "
                                         "set source_system in the job's args (jobs.toml)"})
        report["status"] = "failed"
        return report
    except GatewayError as exc:
        report["errors"].append({"file": exc.message})
        report["status"] = "failed"
        return report
    report["stored"] = report["records"] - report["rejected"]
    report["status"] = "failed" if report["rejected"] or not report["records"] else "archived"
    if not report["records"]:
        report["errors"].append({"file": "no records found"})
    return report


def _import_mapped(ctx: JobContext, dropped: DroppedFile, report: dict[str, Any]) -> None:
    """A file in the format of the job's mapping (XML, CSV or JSON) through the ingest pipeline
    like any other records: mapped (with the mapping's record operations), validated, resolved,
    stored with their outbox events; a refused record goes to the quarantine (retry it there
    after fixing the mapping). An XML file without a mapping is a CPEX batch (above)."""
    if not ctx.args.mapping:
        raise _FileRefused("a CSV or JSON file needs a mapping (job args: mapping = "
                           "\"<file>.yaml\")")
    pipeline = Pipeline(ctx.gateway, Batch(
        source_system=ctx.args.source_system or "erp", source=dropped.name,
        mapping=ctx.args.mapping,
        actor=f"job:{ctx.job}", file_name=dropped.name), keep_outcomes=False)
    mapping = pipeline.decoder.mapping
    assert mapping is not None
    suffix = dropped.name.lower().rpartition(".")[2]
    if suffix != mapping.source_format and not (suffix == "json" and
                                                mapping.source_format in ("json", "sql")):
        raise _FileRefused(f"a .{suffix} file, but the mapping {mapping.name} reads "
                           f"{mapping.source_format}")
    if suffix == "xml":  # the one path of XML files (the whole file checked, then streamed)
        result = import_file(ctx.gateway, dropped.path,
                             source_system=pipeline.batch.source_system, mapping=mapping.name,
                             reprocess=True, keep_outcomes=False, actor=pipeline.batch.actor)
    else:
        # line 1 of a CSV holds the column names
        result = pipeline.run_mapped(mapping.reader.read_sample(dropped.path),
                                     first_line=2 if suffix == "csv" else None)
    _count(report, result)


def _count(report: dict[str, Any], result: BatchReport) -> None:
    report["records"] = result.total
    report["rejected"] = len(result.rejected)
    report["errors"] = [{"record": o.index, "line": o.line, "quarantine_id": o.quarantine_id,
                         "errors": [str(e) for e in o.errors]} for o in result.rejected]
    if result.reasons:
        report["reasons"] = dict(result.reasons)


def _settle(ctx: JobContext, ledger_id: int, report: dict[str, Any], moved: Path) -> None:
    try:
        with write_transaction(ctx.gateway.engine) as conn:
            conn.execute(update(dropped_file).where(dropped_file.c.id == ledger_id).values(
                status=report["status"], finished_at=datetime.now(UTC),
                records=report["records"], rejected=report["rejected"], moved_to=str(moved)))
    except SQLAlchemyError as exc:
        raise store_error(f"recording the outcome of dropped file {report['file']}", exc) from exc


class _FileRefused(GatewayError):
    code = "file_refused"
