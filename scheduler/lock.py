"""Run each scheduled slot once across scheduler processes, and never two runs of a group at once.

Two mechanisms, each for one job (measured, docs/architecture.md "Scheduling": two schedulers on
one job store ran every job twice; a lock plus a lease row made each slot run once):

- **Lease row** (``job_state``), for *exactly once per slot*. A process that wants to run slot
  ``t`` of a job runs ``UPDATE job_state SET last_slot = t, lease_owner = me, lease_until = …
  WHERE job = :job AND NOT paused AND (last_slot IS NULL OR last_slot < t)``. PostgreSQL
  re-checks the ``WHERE`` after waiting for a competing update's row lock (SQLite serialises
  writers with ``BEGIN IMMEDIATE``), so one process gets a row count of 1 and every other gets 0.
  The run row is inserted in the same transaction, and ``job_run``'s unique (job, slot, attempt)
  would refuse a second one anyway. ``lease_until`` tells the next claimer that a runner died
  mid-run (its lease ran out without a release): that run is marked ``abandoned``.
- **Advisory lock** (PostgreSQL ``pg_try_advisory_lock`` on a session held for the run), for
  *mutual exclusion of a lock group*: an ERP full refresh still running when the incremental's
  slot comes does not run beside it in another process; the incremental is recorded ``skipped``.
  The lock dies with the session, so a killed process never leaves it held. On SQLite (one
  scheduler process by design) a process-local lock does the same.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import job_run, job_state

_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()
_ADVISORY_NAMESPACE = 0x43504558  # "CPEX": first key of the two-key advisory lock


class SlotLease:
    """Claims scheduled slots for one runner (``owner`` = host:pid:id)."""

    def __init__(self, engine: Engine, owner: str) -> None:
        self.engine = engine
        self.owner = owner

    def claim(self, job: str, slot: datetime, lease: timedelta) -> int | None:
        """The id of the new ``running`` row if this process got slot ``slot``, else ``None``.

        ``None`` also when the job is paused or a later slot was already run.
        """
        now = datetime.now(UTC)
        s, r = job_state.c, job_run.c
        try:
            with write_transaction(self.engine) as conn:
                previous = conn.execute(
                    select(s.lease_owner, s.lease_until).where(s.job == job).with_for_update()
                ).first()
                claimed = conn.execute(
                    update(job_state)
                    .where(s.job == job, s.paused.is_(False))
                    .where((s.last_slot.is_(None)) | (s.last_slot < slot))
                    .values(last_slot=slot, lease_owner=self.owner, lease_until=now + lease,
                            updated_at=now)
                ).rowcount
                if claimed != 1:
                    return None
                if previous is not None and previous.lease_until is not None \
                        and previous.lease_until < now and previous.lease_owner:
                    conn.execute(
                        update(job_run)
                        .where(r.job == job, r.status == "running",
                               r.runner == previous.lease_owner)
                        .values(status="abandoned", finished_at=now,
                                error=f"runner {previous.lease_owner} stopped before finishing "
                                "(its lease ran out)")
                    )
                key = conn.execute(insert(job_run).values(
                    job=job, slot=slot, attempt=1, trigger="schedule", status="running",
                    runner=self.owner, queued_at=now, started_at=now,
                )).inserted_primary_key
                assert key is not None
                run_id = key[0]
        except IntegrityError:
            return None  # the unique (job, slot, attempt): someone else has this slot
        except SQLAlchemyError as exc:
            raise store_error(f"claiming slot {slot.isoformat()} of job {job}", exc) from exc
        return int(run_id)

    def release(self, job: str) -> None:
        """The run is over: clear the lease so nobody takes it for a dead runner's."""
        s = job_state.c
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(update(job_state).where(s.job == job, s.lease_owner == self.owner)
                             .values(lease_until=None))
        except SQLAlchemyError as exc:
            raise store_error(f"releasing the lease of job {job}", exc) from exc


@contextmanager
def group_lock(engine: Engine, group: str) -> Iterator[bool]:
    """Hold the lock of ``group`` for the block if it is free; yields whether it was taken."""
    scope = engine.url.render_as_string(hide_password=True)  # schema is part of the URL
    if engine.dialect.name != "postgresql":
        with _local_lock(f"{scope}|{group}") as taken:
            yield taken
        return
    digest = hashlib.sha256(f"{scope}|{group}".encode()).digest()
    key = int.from_bytes(digest[:4], "big", signed=True)
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise store_error(f"taking the lock of {group}", exc) from exc
    try:
        taken = bool(conn.exec_driver_sql(
            f"SELECT pg_try_advisory_lock({_ADVISORY_NAMESPACE}, {key})").scalar())
        conn.commit()
        try:
            yield taken
        finally:
            if taken:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_ADVISORY_NAMESPACE}, {key})")
                conn.commit()
    finally:
        conn.close()


@contextmanager
def _local_lock(name: str) -> Iterator[bool]:
    with _LOCAL_LOCKS_GUARD:
        lock = _LOCAL_LOCKS.setdefault(name, threading.Lock())
    taken = lock.acquire(blocking=False)
    try:
        yield taken
    finally:
        if taken:
            lock.release()
