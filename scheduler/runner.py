"""The scheduler process: APScheduler 3.11 fires jobs from ``jobs.toml``; this module makes each
firing a recorded, exactly-once, retried run.

Each process keeps its own in-memory APScheduler job store (two schedulers sharing one job store
ran every job twice); coordination is in the database (:mod:`scheduler.lock`). What happens when
a trigger fires:

1. the *slot* is the trigger's latest fire time not after now (every process computes the same
   one: interval triggers are anchored, see :mod:`scheduler.config`);
2. :class:`~scheduler.lock.SlotLease` claims it — one process wins, the others do nothing;
3. the winner takes the job's lock group, runs the job's kind, and records the outcome; a
   failure is recorded with its error and, while attempts remain, retried after the configured
   delay by the same process. Nothing a job raises reaches APScheduler: one failing job never
   stops the others.

Runs asked for by hand are ``queued`` rows; a small internal job polls for them every few
seconds. Missed slots within a job's misfire grace are caught up at start (a restart does not
lose the 02:00 refresh), which is what APScheduler's persistent job stores would give, without
sharing one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]

from gateway.errors import GatewayError
from gateway.runtime import Gateway
from gateway.telemetry import JOB_DURATION
from scheduler.config import JobsConfig, JobSpec
from scheduler.history import JobHistory
from scheduler.kinds import JobContext, JobOutcome, check_args, kind
from scheduler.lock import SlotLease, group_lock

log = logging.getLogger(__name__)

QUEUE_POLL_SECONDS = 2
_QUEUE_JOB = "__queued_runs__"


def runner_name() -> str:
    """host:pid:random: unique per scheduler instance, readable in the run history."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class SchedulerRunner:
    """One scheduler: APScheduler in a background thread, coordinated through the database."""

    def __init__(self, gateway: Gateway, config: JobsConfig, *, workers: int = 4,
                 queue_poll_seconds: float = QUEUE_POLL_SECONDS) -> None:
        self.gateway = gateway
        self.config = config
        self.owner = runner_name()
        self.history = JobHistory(gateway.engine)
        self.lease = SlotLease(gateway.engine, self.owner)
        self.queue_poll_seconds = queue_poll_seconds
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        self._triggers: dict[str, BaseTrigger] = {}
        self._stopped = threading.Event()

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule every enabled job, catch up missed slots, and start polling queued runs."""
        self.history.ensure_jobs(spec.name for spec in self.config.jobs)
        states = self.history.states()
        for spec in self.config.jobs:
            if not spec.enabled:
                continue
            trigger = spec.make_trigger(self.config.zone)
            self._triggers[spec.name] = trigger
            self._scheduler.add_job(
                self._fire, trigger, args=[spec.name], id=spec.name, name=spec.name,
                misfire_grace_time=int(spec.misfire_grace.total_seconds()),
            )
            missed = self._missed_slot(spec, states.get(spec.name))
            if missed is not None:
                log.info("job %s: catching up the missed slot %s", spec.name, missed.isoformat())
                self._at(datetime.now(UTC), self._run_slot, spec.name, missed)
        self._scheduler.add_job(self._poll_queue, "interval", seconds=self.queue_poll_seconds,
                                id=_QUEUE_JOB, name="queued runs", misfire_grace_time=60)
        self._scheduler.start()
        log.info("scheduler %s started with %d jobs", self.owner, len(self._triggers))

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing; with ``wait``, let running jobs finish first."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._scheduler.running:
            # APScheduler 3 sets STOPPED before taking its job-store lock; a processing round
            # still running then fails to remove the one-off job it just submitted
            # (JobLookupError in its thread). Pause first, and let any round in flight finish
            # (it holds the lock throughout; a paused scheduler starts no new round).
            self._scheduler.pause()
            with self._scheduler._jobstores_lock:
                pass
            self._scheduler.shutdown(wait=wait)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`shutdown` (from a signal handler, say); ``True`` if it happened."""
        return self._stopped.wait(timeout)

    # --- running -------------------------------------------------------------------------------

    def run_now(self, name: str) -> int:
        """Run job ``name`` in this thread (CLI ``jobs run``), recorded as a manual run; run id."""
        spec = self.config.job(name)
        run = self.history.start(name, slot=None, attempt=1, trigger="manual",
                                 runner=self.owner)
        self._execute(spec, run.id, slot=None, attempt=1, retry=False)
        return run.id

    def _fire(self, name: str) -> None:
        """APScheduler's callback for a trigger firing."""
        slot = self._current_slot(name)
        self._run_slot(name, slot)

    def _run_slot(self, name: str, slot: datetime) -> None:
        spec = self.config.job(name)
        try:
            run_id = self.lease.claim(name, slot, timedelta(minutes=spec.lease_minutes))
        except GatewayError as exc:
            log.error("job %s: cannot claim slot %s: %s", name, slot.isoformat(), exc)
            return
        if run_id is None:
            log.debug("job %s: slot %s taken elsewhere, or paused", name, slot.isoformat())
            return
        try:
            self._execute(spec, run_id, slot=slot, attempt=1, retry=True)
        finally:
            self._release(name)

    def _poll_queue(self) -> None:
        try:
            runs = self.history.claim_queued(self.owner, (s.name for s in self.config.jobs))
        except GatewayError as exc:
            log.error("cannot read queued runs: %s", exc)
            return
        for run in runs:
            spec = self.config.job(run.job)
            self._at(datetime.now(UTC), self._execute, spec, run.id, None, 1, True)

    def _execute(self, spec: JobSpec, run_id: int, slot: datetime | None, attempt: int,
                 retry: bool) -> None:
        """Run one attempt and record it; schedule the next attempt if it failed."""
        started = time.perf_counter()
        status = self._attempt(spec, run_id, slot, attempt, retry)
        JOB_DURATION.labels(spec.name, status).observe(time.perf_counter() - started)

    def _attempt(self, spec: JobSpec, run_id: int, slot: datetime | None, attempt: int,
                 retry: bool) -> str:
        """One attempt, recorded; its status (succeeded, failed, skipped)."""
        ctx = JobContext(self.gateway, spec.name, check_args(spec.kind, spec.args))
        job_kind = kind(spec.kind)
        group = job_kind.lock_group(ctx)
        outcome: JobOutcome | None = None
        error: str | None = None
        try:
            with group_lock(self.gateway.engine, group) as taken:
                if not taken:
                    self._finish(run_id, "skipped", error=f"another run of lock group '{group}' "
                                 "is in progress")
                    return "skipped"
                outcome = job_kind.run(ctx)
        except Exception as exc:
            error = describe_error(exc)
            log.warning("job %s attempt %d failed: %s", spec.name, attempt, error,
                        exc_info=not isinstance(exc, GatewayError))
        if outcome is not None:
            self._finish(run_id, "succeeded", **outcome.counts())
            return "succeeded"
        self._finish(run_id, "failed", error=error)
        if retry and attempt <= spec.retries and not self._stopped.is_set():
            when = datetime.now(UTC) + timedelta(seconds=spec.retry_delay_seconds)
            self._at(when, self._retry, spec.name, slot, attempt + 1)
        return "failed"

    def _retry(self, name: str, slot: datetime | None, attempt: int) -> None:
        spec = self.config.job(name)
        try:
            run = self.history.start(name, slot=slot, attempt=attempt, trigger="retry",
                                     runner=self.owner)
        except GatewayError as exc:
            log.error("job %s: cannot record retry %d: %s", name, attempt, exc)
            return
        self._execute(spec, run.id, slot, attempt, retry=True)

    # --- helpers -------------------------------------------------------------------------------

    def _finish(self, run_id: int, status: str, **values: Any) -> None:
        try:
            self.history.finish(run_id, status, **values)
        except GatewayError as exc:
            log.error("cannot record the end of run %d (%s): %s", run_id, status, exc)

    def _release(self, name: str) -> None:
        try:
            self.lease.release(name)
        except GatewayError as exc:
            log.error("job %s: cannot release its lease: %s", name, exc)

    def _at(self, when: datetime, func: Callable[..., None], *args: Any) -> None:
        if self._stopped.is_set():
            return
        self._scheduler.add_job(func, DateTrigger(run_date=when, timezone=UTC), args=list(args),
                                misfire_grace_time=3600)

    def _current_slot(self, name: str) -> datetime:
        spec = self.config.job(name)
        now = datetime.now(UTC)
        return latest_fire_time(self._triggers[name], now, spec.misfire_grace) or now

    def _missed_slot(self, spec: JobSpec, state: Any) -> datetime | None:
        if state is None or state.last_slot is None or state.paused:
            return None
        trigger = spec.make_trigger(self.config.zone)
        latest = latest_fire_time(trigger, datetime.now(UTC), spec.misfire_grace)
        return latest if latest is not None and latest > state.last_slot else None


def latest_fire_time(trigger: BaseTrigger, now: datetime, window: timedelta,
                     limit: int = 100_000) -> datetime | None:
    """The trigger's last fire time in ``(now - window, now]``, if any (bounded walk)."""
    found: datetime | None = None
    current: datetime | None = trigger.get_next_fire_time(None, now - window)
    for _ in range(limit):
        if current is None or current > now:
            break
        found = current
        current = trigger.get_next_fire_time(current, current + timedelta(microseconds=1))
    return found.astimezone(UTC) if found is not None else None


def describe_error(exc: BaseException) -> str:
    """The error text for the run history: type and first line, no SQL parameters or records."""
    if isinstance(exc, GatewayError):
        return f"{type(exc).__name__}: {exc.message}"
    cause = getattr(exc, "orig", None) or exc
    first_line = str(cause).strip().partition("\n")[0]
    return f"{type(cause).__name__}: {first_line}"
