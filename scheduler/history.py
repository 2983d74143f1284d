"""Run history (``job_run``) and per-job state (``job_state``: paused, lease).

Every run leaves a row: who ran it, when, the slot it was for, its attempt, its status, the rows
it read, wrote and rejected, and the error text. Runs asked for by hand (REST, CLI ``--queue``)
start as ``queued`` rows that a scheduler process claims, so a web process never runs a job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.errors import NotFoundError
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import job_run, job_state

STATUSES = ("queued", "running", "succeeded", "failed", "skipped", "abandoned")
MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class JobRun:
    id: int
    job: str
    slot: datetime | None
    attempt: int
    trigger: str
    status: str
    runner: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_read: int
    rows_written: int
    rows_rejected: int
    error: str | None
    rows_skipped: int = 0  # written without a change (e.g. ERP customers whose figures held)
    rows_deleted: int = 0  # marked deleted
    rows_by_table: Mapping[str, int] | None = None  # rows read, per table

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "job": self.job, "slot": _iso(self.slot), "attempt": self.attempt,
            "trigger": self.trigger, "status": self.status, "runner": self.runner,
            "queued_at": _iso(self.queued_at), "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at), "rows_read": self.rows_read,
            "rows_written": self.rows_written, "rows_rejected": self.rows_rejected,
            "rows_skipped": self.rows_skipped, "rows_deleted": self.rows_deleted,
            "rows_by_table": dict(self.rows_by_table) if self.rows_by_table else {},
            "error": self.error,
        }

    def describe_rows(self) -> str:
        """``read N (table n, …), written N, skipped N unchanged, rejected N, marked deleted N``."""
        tables = ", ".join(f"{t} {n}" for t, n in (self.rows_by_table or {}).items())
        return (f"read {self.rows_read}{f' ({tables})' if tables else ''}, written "
                f"{self.rows_written}, skipped {self.rows_skipped} unchanged, rejected "
                f"{self.rows_rejected}, marked deleted {self.rows_deleted}")


@dataclass(frozen=True, slots=True)
class JobState:
    job: str
    paused: bool
    last_slot: datetime | None


class JobHistory:
    """Reads and writes ``job_run`` and ``job_state``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- state -------------------------------------------------------------------------------

    def ensure_jobs(self, names: Iterable[str]) -> None:
        """Create the state row of every job that has none (paused flags survive restarts)."""
        now = _now()
        try:
            with write_transaction(self.engine) as conn:
                known = set(conn.execute(select(job_state.c.job)).scalars())
                missing = [n for n in names if n not in known]
                if missing:
                    conn.execute(insert(job_state), [
                        {"job": n, "paused": False, "updated_at": now} for n in missing])
        except IntegrityError:
            return  # another process created them at the same moment
        except SQLAlchemyError as exc:
            raise store_error("creating job state rows", exc) from exc

    def states(self) -> dict[str, JobState]:
        s = job_state.c
        rows = self._all("reading job states", select(s.job, s.paused, s.last_slot))
        return {r.job: JobState(r.job, bool(r.paused), r.last_slot) for r in rows}

    def set_paused(self, job: str, paused: bool) -> None:
        self.ensure_jobs([job])
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(update(job_state).where(job_state.c.job == job)
                             .values(paused=paused, updated_at=_now()))
        except SQLAlchemyError as exc:
            raise store_error(f"{'pausing' if paused else 'resuming'} job {job}", exc) from exc

    # --- runs --------------------------------------------------------------------------------

    def queue(self, job: str) -> JobRun:
        """A ``queued`` run for a scheduler process to pick up."""
        return self._insert(job=job, slot=None, attempt=1, trigger="manual", status="queued",
                            runner=None, started=False)

    def start(self, job: str, *, slot: datetime | None, attempt: int, trigger: str,
              runner: str) -> JobRun:
        """A ``running`` row for a run this process starts now (manual, retry)."""
        return self._insert(job=job, slot=slot, attempt=attempt, trigger=trigger,
                            status="running", runner=runner, started=True)

    def finish(self, run_id: int, status: str, *, rows_read: int = 0, rows_written: int = 0,
               rows_rejected: int = 0, rows_skipped: int = 0, rows_deleted: int = 0,
               rows_by_table: Mapping[str, int] | None = None,
               error: str | None = None) -> None:
        values = {"status": status, "finished_at": _now(), "rows_read": rows_read,
                  "rows_written": rows_written, "rows_rejected": rows_rejected,
                  "rows_skipped": rows_skipped, "rows_deleted": rows_deleted,
                  "rows_by_table": json.dumps(dict(rows_by_table)) if rows_by_table else None,
                  "error": error[:MAX_ERROR] if error else None}
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(update(job_run).where(job_run.c.id == run_id).values(**values))
        except SQLAlchemyError as exc:
            raise store_error(f"recording the end of job run {run_id}", exc) from exc

    def claim_queued(self, runner: str, jobs: Iterable[str]) -> list[JobRun]:
        """Take the queued runs of ``jobs``: each goes to exactly one process."""
        names = list(jobs)
        if not names:
            return []
        r = job_run.c
        queued = self._all("reading queued runs", select(r.id).where(
            r.status == "queued", r.job.in_(names)).order_by(r.id).limit(20))
        taken = []
        for row in queued:
            try:
                with write_transaction(self.engine) as conn:
                    claimed = conn.execute(
                        update(job_run).where(r.id == row.id, r.status == "queued")
                        .values(status="running", runner=runner, started_at=_now())
                    ).rowcount
            except SQLAlchemyError as exc:
                raise store_error(f"claiming queued run {row.id}", exc) from exc
            if claimed == 1:
                taken.append(self.run(row.id))
        return taken

    def run(self, run_id: int) -> JobRun:
        rows = self._all(f"reading job run {run_id}", select(job_run).where(job_run.c.id ==
                                                                             run_id))
        if not rows:
            raise NotFoundError("job run", str(run_id))
        return _run(rows[0])

    def runs(self, job: str | None = None, *, limit: int = 50, status: str | None = None,
             since: datetime | None = None, until: datetime | None = None) -> list[JobRun]:
        """The newest runs first (of one job, or of all); ``status`` and the time the run was
        queued (``since`` inclusive, ``until`` exclusive) narrow them."""
        r = job_run.c
        query = select(job_run).order_by(r.id.desc()).limit(limit)
        if job is not None:
            query = query.where(r.job == job)
        if status is not None:
            query = query.where(r.status == status)
        if since is not None:
            query = query.where(r.queued_at >= since)
        if until is not None:
            query = query.where(r.queued_at < until)
        return [_run(row) for row in self._all(f"reading runs of {job or 'all jobs'}", query)]

    def last_runs(self) -> dict[str, JobRun]:
        newest = select(func.max(job_run.c.id)).group_by(job_run.c.job)
        query = select(job_run).where(job_run.c.id.in_(newest))
        return {row.job: _run(row) for row in self._all("reading the last runs", query)}

    def _insert(self, *, job: str, slot: datetime | None, attempt: int, trigger: str,
                status: str, runner: str | None, started: bool) -> JobRun:
        now = _now()
        values = {"job": job, "slot": slot, "attempt": attempt, "trigger": trigger,
                  "status": status, "runner": runner, "queued_at": now,
                  "started_at": now if started else None}
        try:
            with write_transaction(self.engine) as conn:
                key = conn.execute(insert(job_run).values(values)).inserted_primary_key
                assert key is not None
                run_id = key[0]
        except SQLAlchemyError as exc:
            raise store_error(f"recording a run of job {job}", exc) from exc
        return self.run(int(run_id))

    def _all(self, action: str, query: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query).all())
        except SQLAlchemyError as exc:
            raise store_error(action, exc) from exc


def _run(row: Any) -> JobRun:
    values = {name: getattr(row, name) for name in JobRun.__slots__}
    values["rows_by_table"] = json.loads(row.rows_by_table) if row.rows_by_table else None
    return JobRun(**values)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
